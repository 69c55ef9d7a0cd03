// Table tests for transformers' NoRepeatNGramLogitsProcessor: with cur_len = len(ids), nothing is
// banned while cur_len + 1 < n; otherwise every token that followed an earlier occurrence of the
// last n−1 ids (anywhere in prompt + generated) becomes -inf.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noRepeatNGram } from '../../../generation/processors/ngram.js';
import { kept, run } from './helpers.js';

test('no_repeat_ngram bans the continuations of the current (n-1)-gram', () => {
  const cases: Array<{ n: number; ids: number[]; keep: number[] }> = [
    { n: 2, ids: [1, 2, 3, 1], keep: [0, 1, 3, 4] }, // bigram (1,2) seen: ban 2
    { n: 2, ids: [1, 2, 1, 3, 1], keep: [0, 1, 4] }, // (1,2) and (1,3) seen: ban 2, 3
    { n: 3, ids: [1, 2, 3, 1, 2], keep: [0, 1, 2, 4] }, // (1,2,3) seen: ban 3
    { n: 3, ids: [1, 2, 3, 2, 1], keep: [0, 1, 2, 3, 4] }, // (2,1) never seen before
    { n: 3, ids: [4], keep: [0, 1, 2, 3, 4] }, // cur_len + 1 < n: nothing to check
    { n: 2, ids: [4], keep: [0, 1, 2, 3, 4] }, // no complete bigram yet
    { n: 1, ids: [0, 3, 3], keep: [1, 2, 4] }, // n = 1 bans every seen token
    { n: 2, ids: [2, 2], keep: [0, 1, 3, 4] }, // (2,2) seen, last is 2: ban 2
  ];
  for (const c of cases) {
    assert.deepEqual(
      kept(run(noRepeatNGram(c.n), [0, 0, 0, 0, 0], { ids: c.ids, promptLength: 1 })),
      c.keep,
      `n=${c.n} ids=${c.ids}`,
    );
  }
});
