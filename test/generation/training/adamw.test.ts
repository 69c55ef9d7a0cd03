// AdamW against a hand computation of its first step, the warmup/cosine schedule's end points, the
// gradient clipping and the exclusion of norm gains from weight decay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW } from '../../../generation/training/adamw.js';

const options = {
  lr: 0.1,
  minLr: 0.01,
  warmupSteps: 2,
  totalSteps: 10,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.5,
  clip: 1,
};

test('the schedule warms up linearly and decays to minLr', () => {
  const opt = new AdamW(options, 1, new Uint8Array(1));
  assert.equal(opt.lrAt(0), 0.05);
  assert.equal(opt.lrAt(1), 0.1);
  assert.ok(Math.abs(opt.lrAt(10) - 0.01) < 1e-12, 'Math.abs(opt.lrAt(10) - 0.01) < 1e-12');
});

test('the first step moves each weight by lr·(sign(g) + decay), with norm gains not decayed', () => {
  const opt = new AdamW(options, 2, Uint8Array.from([0, 1]));
  const params = Float32Array.from([1, 1]);
  // Norm 5 > clip 1: the gradient is scaled to (0.6, -0.8); Adam's first step is ±1 per weight.
  const norm = opt.update(params, Float32Array.from([3, -4]));
  assert.equal(norm, 5);
  assert.ok(
    Math.abs(params[0] - (1 - 0.05 * (1 + 0.5 * 1))) < 1e-6,
    'Math.abs(params[0] - (1 - 0.05 * (1 + 0.5 * 1))) < 1e-6',
  );
  assert.ok(Math.abs(params[1] - (1 + 0.05)) < 1e-6, 'Math.abs(params[1] - (1 + 0.05)) < 1e-6');
});
