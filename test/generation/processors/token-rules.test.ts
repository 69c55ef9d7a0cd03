// Table tests for the token rules, each checked against its transformers definition:
// SequenceBiasLogitsProcessor (one-token logit_bias), NoBadWordsLogitsProcessor,
// MinNewTokensLengthLogitsProcessor, ForcedBOSTokenLogitsProcessor (cur_len == 1),
// ForcedEOSTokenLogitsProcessor (cur_len == max_length − 1) and SuppressTokensLogitsProcessor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  badWords,
  forcedBos,
  forcedEos,
  logitBias,
  minNewTokens,
  suppressTokens,
} from '../../../generation/processors/token-rules.js';
import { kept, NEG, run } from './helpers.js';

test('logit_bias adds each bias to its id', () => {
  const p = logitBias(
    new Map([
      [1, 2.5],
      [3, -100],
    ]),
  );
  assert.deepEqual(run(p, [0, 1, 2, 3]), [0, 3.5, 2, -97]);
  assert.deepEqual(run(p, [NEG, NEG, 0, 0]), [NEG, NEG, 0, -100]);
});

test('bad_words bans single ids always and the last id of longer sequences after their prefix', () => {
  const eos = [4];
  const cases: Array<{ name: string; seqs: number[][]; ids: number[]; keep: number[] }> = [
    { name: 'single id', seqs: [[2]], ids: [0], keep: [0, 1, 3, 4] },
    { name: 'prefix matches', seqs: [[1, 3]], ids: [0, 1], keep: [0, 1, 2, 4] },
    { name: 'prefix does not match', seqs: [[1, 3]], ids: [1, 0], keep: [0, 1, 2, 3, 4] },
    { name: 'three-token sequence', seqs: [[0, 1, 2]], ids: [3, 0, 1], keep: [0, 1, 3, 4] },
    { name: 'three-token, partial', seqs: [[0, 1, 2]], ids: [3, 3, 1], keep: [0, 1, 2, 3, 4] },
    // transformers skips a sequence longer than the whole context (len(seq) > input_ids.shape[1]).
    { name: 'longer than context', seqs: [[1, 3]], ids: [1], keep: [0, 1, 2, 3, 4] },
    // A bad word that is just [eos] is dropped at construction, as transformers does.
    { name: 'eos-only entry ignored', seqs: [[4]], ids: [0], keep: [0, 1, 2, 3, 4] },
    {
      name: 'eos inside a sequence still applies',
      seqs: [[0, 4]],
      ids: [1, 0],
      keep: [0, 1, 2, 3],
    },
    { name: 'several', seqs: [[2], [1, 3], [1, 0]], ids: [2, 1], keep: [1, 4] },
  ];
  for (const c of cases)
    assert.deepEqual(
      kept(run(badWords(c.seqs, eos), [0, 0, 0, 0, 0], { ids: c.ids })),
      c.keep,
      c.name,
    );
});

test('min_new_tokens suppresses every EOS id until enough tokens were generated', () => {
  const p = minNewTokens(2, [3, 4]);
  const cases = [
    { ids: [9, 9], want: [1, 1, 1, NEG, NEG] }, // 0 generated
    { ids: [9, 9, 0], want: [1, 1, 1, NEG, NEG] }, // 1 generated
    { ids: [9, 9, 0, 1], want: [1, 1, 1, 1, 1] }, // 2 generated: allowed
  ];
  for (const c of cases)
    assert.deepEqual(
      run(p, [1, 1, 1, 1, 1], { ids: c.ids, promptLength: 2 }),
      c.want,
      `${c.ids.length - 2} generated`,
    );
});

test('forced_bos forces its id only when the sequence has length 1', () => {
  const p = forcedBos(2);
  assert.deepEqual(run(p, [5, 6, 7, 8], { ids: [0], promptLength: 1 }), [NEG, NEG, 0, NEG]);
  assert.deepEqual(run(p, [5, 6, 7, 8], { ids: [0, 2], promptLength: 1 }), [5, 6, 7, 8]);
  // A decoder-only prompt longer than one token: transformers' cur_len == 1 never holds.
  assert.deepEqual(run(p, [5, 6, 7, 8], { ids: [4, 5], promptLength: 2 }), [5, 6, 7, 8]);
});

test('forced_eos forces its ids at max_length − 1 (max_length from ctx or prompt + max_new_tokens)', () => {
  const p = forcedEos([1, 3], 3);
  // promptLength 2 + max_new_tokens 3 = max_length 5: force when ids.length is 4.
  assert.deepEqual(run(p, [5, 6, 7, 8], { ids: [0, 0, 2], promptLength: 2 }), [5, 6, 7, 8]);
  assert.deepEqual(run(p, [5, 6, 7, 8], { ids: [0, 0, 2, 2], promptLength: 2 }), [NEG, 0, NEG, 0]);
  assert.deepEqual(run(p, [5, 6, 7, 8], { ids: [0, 0, 2], promptLength: 2, maxLength: 4 }), [
    NEG,
    0,
    NEG,
    0,
  ]);
});

test('suppress_tokens bans listed ids and ignores ids outside the vocabulary', () => {
  assert.deepEqual(run(suppressTokens([1, 99, 3]), [1, 2, 3, 4]), [1, NEG, 3, NEG]);
});
