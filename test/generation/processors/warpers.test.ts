// Table tests for the sampling warpers against transformers' definitions. Rows are built as
// logs of chosen probabilities (softmax(log p) = p), so the cumulative sums can be done by hand;
// every cut is placed well away from the float rounding of those sums.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  minPWarper,
  temperatureWarper,
  topKWarper,
  topPWarper,
  typicalWarper,
} from '../../../generation/processors/warpers.js';
import { createRng } from '../../../generation/processors/sampler.js';
import { softmax } from '../../../generation/softmax.js';
import { kept, logs, NEG, run } from './helpers.js';

const P4 = logs([0.1, 0.2, 0.3, 0.4]);

test('temperature divides every logit (TemperatureLogitsWarper: scores / T)', () => {
  assert.deepEqual(run(temperatureWarper(0.5), [1, -2, NEG, 0]), [2, -4, NEG, 0]);
  assert.deepEqual(run(temperatureWarper(2), [1, -3]), [0.5, -1.5]);
  // float32 division, as torch on float32 logits: 1 / float32(0.7) rounded to float32.
  assert.deepEqual(run(temperatureWarper(0.7), [1]), [Math.fround(1 / Math.fround(0.7))]);
});

test('top_k keeps scores >= the k-th largest (TopKLogitsWarper), ties at the k-th all kept', () => {
  const cases: Array<{
    name: string;
    k: number;
    minKeep?: number;
    logits: number[];
    keep: number[];
  }> = [
    { name: 'plain', k: 2, logits: [1, 3, 2, 0], keep: [1, 2] },
    { name: 'tie at k-th', k: 2, logits: [1, 2, 2, 0], keep: [1, 2] },
    { name: 'tie below the top', k: 2, logits: [3, 2, 2, 2], keep: [0, 1, 2, 3] },
    { name: 'k = 1 keeps argmax', k: 1, logits: [1, 3, 2, 0], keep: [1] },
    { name: 'k > vocab keeps all', k: 10, logits: [1, 3, 2, 0], keep: [0, 1, 2, 3] },
    {
      name: 'min_tokens_to_keep raises k',
      k: 1,
      minKeep: 3,
      logits: [1, 3, 2, 0],
      keep: [0, 1, 2],
    },
    { name: '-inf already filtered', k: 3, logits: [NEG, 3, NEG, 0], keep: [1, 3] },
  ];
  for (const c of cases)
    assert.deepEqual(kept(run(topKWarper(c.k, c.minKeep), c.logits)), c.keep, c.name);
});

test('top_p removes ascending-sorted tokens with cumulative probability <= 1 − top_p (TopPLogitsWarper)', () => {
  // Ascending probs 0.1, 0.2, 0.3, 0.4 → cumulative 0.1, 0.3, 0.6, 1.0.
  const cases: Array<{
    name: string;
    p: number;
    minKeep?: number;
    logits: number[];
    keep: number[];
  }> = [
    { name: 'p = 0.75 drops 0.1', p: 0.75, logits: P4, keep: [1, 2, 3] },
    { name: 'p = 0.5 drops 0.1, 0.2', p: 0.5, logits: P4, keep: [2, 3] },
    { name: 'p = 0.01 keeps only the top', p: 0.01, logits: P4, keep: [3] },
    { name: 'min_tokens_to_keep = 2', p: 0.01, minKeep: 2, logits: P4, keep: [2, 3] },
    { name: 'p = 1 keeps every finite token', p: 1, logits: [0, 0, NEG, 0], keep: [0, 1, 3] },
    // Four ties at 0.25: cumulative 0.25, 0.5 <= 0.5 remove the two lowest indices (stable sort).
    { name: 'ties cut by index', p: 0.5, logits: [0, 0, 0, 0], keep: [2, 3] },
    { name: 'all but one filtered already', p: 0.5, logits: [NEG, 1, NEG, NEG], keep: [1] },
  ];
  for (const c of cases)
    assert.deepEqual(kept(run(topPWarper(c.p, c.minKeep), c.logits)), c.keep, c.name);
});

test('min_p removes tokens with probability < min_p × top probability (MinPLogitsWarper)', () => {
  const cases: Array<{
    name: string;
    p: number;
    minKeep?: number;
    logits: number[];
    keep: number[];
  }> = [
    { name: 'threshold 0.24', p: 0.6, logits: P4, keep: [2, 3] },
    { name: 'threshold 0.04 keeps all', p: 0.1, logits: P4, keep: [0, 1, 2, 3] },
    { name: 'min_p = 1 keeps only the top', p: 1, logits: P4, keep: [3] },
    { name: 'min_p = 1 keeps tied tops', p: 1, logits: [0, 0, -1], keep: [0, 1] },
    { name: 'min_tokens_to_keep = 2', p: 1, minKeep: 2, logits: P4, keep: [2, 3] },
    { name: '-inf stays out', p: 0.01, logits: [NEG, 0, 0], keep: [1, 2] },
  ];
  for (const c of cases)
    assert.deepEqual(kept(run(minPWarper(c.p, c.minKeep), c.logits)), c.keep, c.name);
});

test('typical_p keeps tokens whose surprise is closest to the entropy (TypicalLogitsWarper)', () => {
  // p = 0.1, 0.2, 0.3, 0.4: H = −Σ p ln p = 1.27985; |−ln p − H| = 1.02273, 0.32958, 0.07588, 0.36356.
  // Ascending: ids 2, 1, 3, 0 with cumulative mass 0.3, 0.5, 0.9, 1.0. last_ind = #(cum < mass).
  const cases: Array<{ name: string; mass: number; minKeep?: number; keep: number[] }> = [
    { name: 'mass 0.2: last_ind 0', mass: 0.2, keep: [2] },
    { name: 'mass 0.45: last_ind 1, the most likely token goes', mass: 0.45, keep: [1, 2] },
    { name: 'mass 0.7: last_ind 2', mass: 0.7, keep: [1, 2, 3] },
    { name: 'mass 0.95: last_ind 3 keeps all', mass: 0.95, keep: [0, 1, 2, 3] },
    { name: 'min_tokens_to_keep = 2', mass: 0.2, minKeep: 2, keep: [1, 2] },
  ];
  for (const c of cases)
    assert.deepEqual(kept(run(typicalWarper(c.mass, c.minKeep), P4)), c.keep, c.name);
});

test('typical_p ignores -inf tokens in the entropy and removes nothing more', () => {
  // Two equal finite tokens: H = ln 2, both shifted scores 0, -inf shifted = inf.
  assert.deepEqual(kept(run(typicalWarper(0.5), [0, NEG, 0])), [0, 2]);
});

test('top_p and top_k fast paths equal the literal transformers algorithm on random rows', () => {
  // Reference: TopPLogitsWarper exactly as written (stable ascending sort, cumsum, <= 1 − p, keep the
  // last min_tokens_to_keep) and TopKLogitsWarper via a full sort.
  const refTopP = (row: number[], p: number, minKeep: number) => {
    const probs = softmax(row);
    const order = row.map((_, i) => i).sort((a, b) => row[a] - row[b] || a - b);
    let cum = 0;
    const out = row.slice();
    order.forEach((id, r) => {
      cum += probs[id];
      if (cum <= 1 - p && r < order.length - minKeep) out[id] = NEG;
    });
    return out;
  };
  const refTopK = (row: number[], k: number) => {
    const kth = row.slice().sort((a, b) => b - a)[Math.min(k, row.length) - 1];
    return row.map((x) => (x < kth ? NEG : x));
  };
  const rng = createRng(2024);
  for (let trial = 0; trial < 200; trial++) {
    const vocab = 1 + (rng.nextUint32() % 300);
    // Coarse values create ties; a wide range creates long tails.
    const row = Array.from({ length: vocab }, () =>
      Math.fround(Math.round((rng.nextFloat() - 0.5) * 40) / 4),
    );
    const p = [0.05, 0.3, 0.9, 0.99][trial % 4];
    const minKeep = 1 + (trial % 3);
    const k = 1 + (rng.nextUint32() % 20);
    assert.deepEqual(
      run(topPWarper(p, minKeep), row),
      refTopP(Array.from(Float32Array.from(row)), p, minKeep),
      `top_p trial ${trial}`,
    );
    assert.deepEqual(run(topKWarper(k), row), refTopK(row, k), `top_k trial ${trial}`);
  }
});
