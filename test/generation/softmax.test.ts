// The one softmax module against its definitions, worked out by hand: probabilities, log-probabilities,
// log-sum-exp of a slice, −Infinity entries, large logits (no overflow), and the in-place scaled
// softmax the trainer's cross-entropy uses as its gradient.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  logSoftmax,
  logSoftmax64,
  logSumExp,
  rowMax,
  softmax,
  softmaxInPlace,
} from '../../generation/softmax.js';

const NEG = Number.NEGATIVE_INFINITY;

/** |a − b| ≤ tol, with both values in the message. */
function close(a: number, b: number, tol: number, label: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${label}: ${a} vs ${b}`);
}

test('softmax and logSoftmax follow their definitions; -inf maps to 0 / -inf', () => {
  const p = softmax([0, Math.log(3), NEG]);
  close(p[0], 0.25, 1e-15, 'p[0]');
  close(p[1], 0.75, 1e-15, 'p[1]');
  assert.equal(p[2], 0);
  const row = Float32Array.from([0, 0, NEG]);
  const out = logSoftmax(row, row);
  assert.equal(out, row, 'in place when out is the input');
  assert.deepEqual(Array.from(out), [Math.fround(-Math.LN2), Math.fround(-Math.LN2), NEG]);
  assert.deepEqual(Array.from(logSoftmax(Float32Array.from([1000, 1000]))), [
    Math.fround(-Math.LN2),
    Math.fround(-Math.LN2),
  ]);
});

test('logSumExp and rowMax read only their slice; large values do not overflow', () => {
  const x = [5, 1000, 1000, 7];
  assert.equal(rowMax(x, 1, 2), 1000);
  close(logSumExp(x, 1, 2), 1000 + Math.LN2, 1e-12, 'lse of [1000, 1000]');
  close(logSumExp([0, Math.log(3)]), Math.log(4), 1e-15, 'lse of [0, ln 3]');
  assert.equal(rowMax([]), NEG);
  assert.equal(logSumExp([NEG, 0]), 0);
});

test('logSoftmax64 keeps float64: a probability of e^-800 is still representable as its log', () => {
  const out = logSoftmax64([0, -800]);
  close(out[0], 0, 1e-300, 'log p[0]');
  close(out[1], -800, 1e-12, 'log p[1]');
  assert.equal(Math.exp(out[1]), 0, 'the probability itself underflows: why the log is kept');
});

test('softmaxInPlace writes scale × softmax into the slice and returns its log-sum-exp', () => {
  const F = Float32Array.from([9, 0, Math.log(3), 9]);
  const lse = softmaxInPlace(F, 1, 2, 0.5);
  close(lse, Math.log(4), 1e-7, 'log-sum-exp');
  assert.deepEqual([F[0], F[3]], [9, 9], 'outside the slice untouched');
  // ln 3 is rounded to float32 on the way in, so the probabilities are 1/4 and 3/4 to float32 accuracy.
  close(F[1], 0.125, 1e-7, 'scaled p[0]');
  close(F[2], 0.375, 1e-7, 'scaled p[1]');
  // Cross-entropy of target 1 is lse − x[target]: −log(3/4).
  close(lse - Math.fround(Math.log(3)), -Math.log(0.75), 1e-7, 'cross-entropy');
});
