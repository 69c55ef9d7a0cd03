// Tests for the RNG and samplers. The xoshiro128** / splitmix64 vectors were produced by the
// reference C code of Blackman & Vigna (state = low/high halves of two splitmix64 outputs); the
// inverse-CDF cases are worked out from the definition: the first token whose cumulative weight
// exceeds u × total weight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  argmax,
  createGreedySampler,
  createMultinomialSampler,
  createRng,
  createSampler,
  type Rng,
} from '../../../generation/processors/sampler.js';
import { TextgenError } from '../../../generation/errors.js';
import { NEG } from './helpers.js';

test('createRng reproduces the reference xoshiro128** outputs', () => {
  const vectors: Array<[number, number[]]> = [
    [0, [3737715805, 2584255861, 2876756834, 3286328325, 1553311962]],
    [42, [1776835114, 4165204688, 17111135, 2317295270, 2792088233]],
    [2 ** 53 - 1, [1233166643, 1287031142, 661813442, 2960669951, 2601079046]],
  ];
  for (const [seed, want] of vectors) {
    const rng = createRng(seed);
    assert.deepEqual(
      Array.from({ length: 5 }, () => rng.nextUint32()),
      want,
      `seed ${seed}`,
    );
    assert.equal(rng.seed, seed);
  }
});

test('nextFloat builds a double in [0, 1) from two outputs (27 + 26 bits)', () => {
  const a = createRng(0);
  const want = ((3737715805 >>> 5) * 2 ** 26 + (2584255861 >>> 6)) / 2 ** 53;
  assert.equal(a.nextFloat(), want);
  const b = createRng(7);
  for (let i = 0; i < 1000; i++) {
    const x = b.nextFloat();
    assert.ok(x >= 0 && x < 1, 'x >= 0 && x < 1');
  }
});

test('createRng rejects seeds that are not non-negative safe integers; no seed picks one', () => {
  for (const bad of [-1, 1.5, 2 ** 53, NaN]) assert.throws(() => createRng(bad), RangeError);
  const r = createRng();
  assert.ok(
    Number.isSafeInteger(r.seed) && r.seed >= 0,
    'Number.isSafeInteger(r.seed) && r.seed >= 0',
  );
});

test('argmax takes the lowest index on ties, like torch.argmax', () => {
  const cases: Array<[number[], number]> = [
    [[1, 3, 2], 1],
    [[2, 5, 5, 1], 1],
    [[NEG, NEG, -1], 2],
    [[NEG, NEG], 0],
    [[0], 0],
  ];
  for (const [row, want] of cases) assert.equal(argmax(row), want, String(row));
  assert.equal(createGreedySampler().sample(Float32Array.from([0, 7, 7])), 1);
});

/** An Rng that replays fixed uniforms, to pin the inverse CDF to exact draws. */
function replay(values: number[]): Rng {
  let i = 0;
  return { seed: 0, nextUint32: () => 0, nextFloat: () => values[i++] };
}

test('multinomial sampling is the inverse CDF over token order', () => {
  const cases: Array<{ logits: number[]; u: number; want: number }> = [
    { logits: [0, Math.log(3)], u: 0.24, want: 0 }, // probs 0.25, 0.75
    { logits: [0, Math.log(3)], u: 0.26, want: 1 },
    { logits: [0, Math.log(3)], u: 0.999999, want: 1 },
    { logits: [NEG, 0, NEG, 0], u: 0, want: 1 }, // filtered tokens have no mass
    { logits: [NEG, 0, NEG, 0], u: 0.4999, want: 1 },
    { logits: [NEG, 0, NEG, 0], u: 0.5, want: 3 },
    { logits: [NEG, NEG, 5], u: 0.3, want: 2 }, // all but one filtered
  ];
  for (const c of cases) {
    assert.equal(
      createMultinomialSampler(replay([c.u])).sample(Float32Array.from(c.logits)),
      c.want,
      `${c.logits} u=${c.u}`,
    );
  }
});

test('multinomial sampling: same seed gives the same tokens; frequencies follow the probabilities', () => {
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2), NEG]);
  const draw = (seed: number) => {
    const s = createMultinomialSampler(createRng(seed));
    return Array.from({ length: 20000 }, () => s.sample(logits));
  };
  const a = draw(123);
  assert.deepEqual(a, draw(123));
  assert.notDeepEqual(a.slice(0, 50), draw(124).slice(0, 50));
  const freq = [0, 1, 2, 3].map((t) => a.filter((x) => x === t).length / a.length);
  // 20000 draws: standard error <= 0.0036, so 0.02 is over 5 sigma.
  [0.5, 0.3, 0.2, 0].forEach((p, t) =>
    assert.ok(Math.abs(freq[t] - p) < 0.02, `token ${t}: ${freq[t]}`),
  );
});

test('multinomial sampling refuses a row with every token filtered', () => {
  assert.throws(
    () => createMultinomialSampler(createRng(1)).sample(Float32Array.from([NEG, NEG])),
    TextgenError,
  );
});

test('createSampler picks greedy unless do_sample', () => {
  assert.equal(createSampler({ do_sample: false }).name, 'greedy');
  assert.equal(createSampler({ do_sample: true, seed: 3 }).name, 'multinomial');
});
