// Tests for the checks added to settings.ts: transformers' rule that greedy search returns one
// sequence, token-id lists that processors index with, and malformed model-config lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../generation/errors.js';
import {
  resolveSettings,
  settingsFromModelConfig,
  type SettingsLayer,
} from '../../generation/settings.js';

test('resolveSettings rejects invalid combinations and token-id lists', () => {
  const bad: SettingsLayer[] = [
    { do_sample: false, num_return_sequences: 2 },
    { suppress_tokens: [-1] },
    { suppress_tokens: [1.5] },
    { bad_words_ids: [[]] },
    { bad_words_ids: [[1, -2]] },
    { logit_bias: { 3: NaN } },
  ];
  for (const layer of bad)
    assert.throws(() => resolveSettings(layer), UsageError, JSON.stringify(layer));
});

test('resolveSettings accepts the valid neighbours of those cases', () => {
  const good: SettingsLayer[] = [
    { do_sample: true, num_return_sequences: 2 },
    { do_sample: false, num_beams: 3, num_return_sequences: 2 },
    { suppress_tokens: [0, 5] },
    { bad_words_ids: [[1], [2, 3]] },
    { logit_bias: { 3: -100, 4: 2.5 } },
  ];
  for (const layer of good)
    assert.doesNotThrow(() => resolveSettings(layer), JSON.stringify(layer));
});

test('settingsFromModelConfig keeps well-formed id lists and ignores malformed ones', () => {
  assert.deepEqual(settingsFromModelConfig({ suppress_tokens: [1, 2], bad_words_ids: [[3, 4]] }), {
    suppress_tokens: [1, 2],
    bad_words_ids: [[3, 4]],
  });
  assert.deepEqual(settingsFromModelConfig({ suppress_tokens: ['a'], bad_words_ids: [3, 4] }), {});
  assert.deepEqual(settingsFromModelConfig({ bad_words_ids: [[]] }), {});
});
