// Tests for buildLogitsProcessors: only non-neutral settings add a processor, in transformers'
// `_get_logits_processor` order, warpers only when do_sample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLogitsProcessors } from '../../../generation/processors/build.js';
import { DEFAULT_SETTINGS, type GenerationSettings } from '../../../generation/settings.js';
import { UsageError } from '../../../generation/errors.js';
import { kept } from './helpers.js';

const model = { eosTokenIds: [3], vocabSize: 5 };
const names = (s: Partial<GenerationSettings>, m = model) =>
  buildLogitsProcessors({ ...DEFAULT_SETTINGS, ...s }, m).map((p) => p.name);

test('neutral settings build an empty chain, sampling or not', () => {
  assert.deepEqual(names({}), []);
  assert.deepEqual(names({ do_sample: false }), []);
});

test('every non-neutral setting adds its processor in transformers order', () => {
  const all: Partial<GenerationSettings> = {
    logit_bias: { 1: 1 },
    repetition_penalty: 1.2,
    presence_penalty: 0.1,
    frequency_penalty: 0.1,
    no_repeat_ngram_size: 3,
    bad_words_ids: [[2]],
    min_new_tokens: 2,
    forced_bos_token_id: 0,
    forced_eos_token_id: [3],
    suppress_tokens: [4],
    temperature: 0.7,
    top_k: 40,
    top_p: 0.9,
    min_p: 0.05,
    typical_p: 0.95,
    do_sample: true,
  };
  assert.deepEqual(names(all), [
    'logit_bias',
    'repetition_penalty',
    'presence_frequency_penalty',
    'no_repeat_ngram',
    'bad_words',
    'min_new_tokens',
    'forced_bos',
    'forced_eos',
    'suppress_tokens',
    'temperature',
    'top_k',
    'top_p',
    'min_p',
    'typical_p',
  ]);
  assert.deepEqual(names({ ...all, do_sample: false }).slice(-1), ['suppress_tokens']);
});

test('single settings and their neutral values', () => {
  const cases: Array<[Partial<GenerationSettings>, string[]]> = [
    [{ frequency_penalty: 0.5 }, ['presence_frequency_penalty']],
    [{ logit_bias: { 2: 0 } }, []],
    [{ min_new_tokens: 2 }, ['min_new_tokens']],
    [{ min_new_tokens: 2, eos_token_id: [] }, []],
    [{ forced_eos_token_id: [] }, []],
    [{ temperature: 0.5, do_sample: false }, []],
    [{ top_p: 1, typical_p: 1, min_p: 0, top_k: 0, temperature: 1 }, []],
  ];
  for (const [s, want] of cases) assert.deepEqual(names(s), want, JSON.stringify(s));
});

test('settings.eos_token_id overrides the model EOS ids', () => {
  const [p] = buildLogitsProcessors(
    { ...DEFAULT_SETTINGS, min_new_tokens: 1, eos_token_id: [0] },
    model,
  );
  const row = Float32Array.from([1, 1, 1, 1, 1]);
  p.apply(row, { ids: [2], promptLength: 1 });
  assert.deepEqual(kept(Array.from(row)), [1, 2, 3, 4]);
});

test('ids outside the vocabulary in logit_bias or bad_words_ids are usage errors', () => {
  assert.throws(() => names({ logit_bias: { 5: 1 } }), UsageError);
  assert.throws(() => names({ bad_words_ids: [[1, 7]] }), UsageError);
});

test('beam sampling keeps #eos + 1 tokens in the filtering warpers', () => {
  const s = { ...DEFAULT_SETTINGS, do_sample: true, num_beams: 2, top_k: 1 };
  const row = Float32Array.from([0, 4, 3, 1, 2]);
  for (const p of buildLogitsProcessors(s, model)) p.apply(row, { ids: [], promptLength: 0 });
  assert.deepEqual(kept(Array.from(row)), [1, 2]);
});

test('the chain runs in order: repetition penalty before temperature', () => {
  const s = { ...DEFAULT_SETTINGS, repetition_penalty: 2, temperature: 0.5 };
  const row = Float32Array.from([4, -1, 1, 0, 0]);
  for (const p of buildLogitsProcessors(s, model)) p.apply(row, { ids: [0, 1], promptLength: 1 });
  assert.deepEqual(Array.from(row), [4, -4, 2, 0, 0]);
});
