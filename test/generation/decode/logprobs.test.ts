// tokenLogprob on hand-written rows: float64 log-softmax, filtered (−Infinity) tokens left out of the
// alternatives, most likely first with ties by lower id, and fewer alternatives when fewer are finite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenLogprob } from '../../../generation/decode/logprobs.js';

const NEG = Number.NEGATIVE_INFINITY;
const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

test('log-probabilities of a plain row, chosen token and top 2', () => {
  const row = Float32Array.from([0, Math.log(3), Math.log(2), Math.log(4)]);
  const lse = Math.log(Array.from(row).reduce((a, x) => a + Math.exp(x), 0));
  const lp = tokenLogprob(row, 2, 2);
  assert.equal(lp.token_id, 2);
  assert.ok(close(lp.logprob, row[2] - lse), 'close(lp.logprob, row[2] - lse)');
  assert.deepEqual(
    lp.top.map((x) => x.token_id),
    [3, 1],
  );
  assert.ok(close(lp.top[0].logprob, row[3] - lse), 'close(lp.top[0].logprob, row[3] - lse)');
  assert.ok(close(lp.top[1].logprob, row[1] - lse), 'close(lp.top[1].logprob, row[1] - lse)');
});

const cases: Array<{ name: string; row: number[]; token: number; top: number; ids: number[] }> = [
  {
    name: 'filtered tokens are never alternatives',
    row: [NEG, 1, NEG, 2, NEG],
    token: 3,
    top: 5,
    ids: [3, 1],
  },
  { name: 'ties go to the lower id', row: [1, 2, 2, 2, 0], token: 1, top: 2, ids: [1, 2] },
  { name: 'top 1 is the argmax', row: [0.5, -1, 3, 2.9], token: 0, top: 1, ids: [2] },
  { name: 'ascending row', row: [1, 2, 3, 4, 5, 6], token: 5, top: 3, ids: [5, 4, 3] },
];

for (const c of cases) {
  test(`alternatives: ${c.name}`, () => {
    const lp = tokenLogprob(Float32Array.from(c.row), c.token, c.top);
    assert.deepEqual(
      lp.top.map((x) => x.token_id),
      c.ids,
    );
    assert.ok(
      lp.top.every((x, i) => i === 0 || x.logprob <= lp.top[i - 1].logprob),
      'lp.top.every((x, i) => i === 0 || x.logprob <= lp.top[i - 1].logprob)',
    );
    assert.ok(
      lp.top.every((x) => Number.isFinite(x.logprob)),
      'lp.top.every((x) => Number.isFinite(x.logprob))',
    );
  });
}

test('the kept mass of a filtered row sums to 1', () => {
  const lp = tokenLogprob(Float32Array.from([NEG, 0.3, -2, NEG, 1.7]), 4, 20);
  assert.equal(lp.top.length, 3);
  assert.ok(
    Math.abs(lp.top.reduce((a, x) => a + Math.exp(x.logprob), 0) - 1) < 1e-12,
    'Math.abs(lp.top.reduce((a, x) => a + Math.exp(x.logprob), 0) - 1) < 1e-12',
  );
});
