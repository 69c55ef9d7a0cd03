// Gradient checks: every weight group of the Llama trainer (embedding, each norm, q/k/v/o, gate/up/down,
// final norm) against central finite differences of the loss, on a tiny model with GQA and RoPE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelPool } from '../../../generation/training/kernel-pool.js';
import { LlamaModel } from '../../../generation/training/model.js';
import { initParams, type LlamaConfig } from '../../../generation/training/model-params.js';
import { Rng } from '../../../generation/training/rng.js';

const config: LlamaConfig = {
  vocabSize: 11,
  dim: 8,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  headDim: 4,
  ffnDim: 12,
  maxSeqLen: 5,
  ropeTheta: 10000,
  normEps: 1e-5,
};

function setup(threads: number) {
  const batch = 2,
    T = 5;
  const pool = new KernelPool(LlamaModel.arenaFloats(config, batch, T), threads, 0);
  const model = new LlamaModel(config, pool, batch, T);
  const rng = new Rng(7);
  initParams(config, model.params, rng);
  // Larger weights than the training init, so every path carries gradient well above fp32 noise.
  for (let i = 0; i < model.params.length; i++) model.params[i] += rng.normal() * 0.3;
  const tokens = Int32Array.from({ length: batch * T }, () => rng.int(config.vocabSize));
  const targets = Int32Array.from({ length: batch * T }, () => rng.int(config.vocabSize));
  return { pool, model, tokens, targets, rng };
}

const groups = (m: LlamaModel): [string, number, number][] => {
  const L = m.layout,
    c = config,
    qd = c.nHeads * c.headDim,
    kvd = c.nKvHeads * c.headDim;
  const out: [string, number, number][] = [
    ['embed', L.embed, c.vocabSize * c.dim],
    ['finalNorm', L.finalNorm, c.dim],
  ];
  L.layers.forEach((l, i) => {
    out.push(
      [`l${i}.attnNorm`, l.attnNorm, c.dim],
      [`l${i}.wq`, l.wq, c.dim * qd],
      [`l${i}.wk`, l.wk, c.dim * kvd],
      [`l${i}.wv`, l.wv, c.dim * kvd],
      [`l${i}.wo`, l.wo, qd * c.dim],
      [`l${i}.ffnNorm`, l.ffnNorm, c.dim],
      [`l${i}.w1`, l.w1, c.dim * c.ffnDim],
      [`l${i}.w3`, l.w3, c.dim * c.ffnDim],
      [`l${i}.w2`, l.w2, c.ffnDim * c.dim],
    );
  });
  return out;
};

for (const threads of [1, 2]) {
  test(`analytic gradients match finite differences for every layer (${threads} thread(s))`, async () => {
    const { pool, model, tokens, targets, rng } = setup(threads);
    model.grads.fill(0);
    model.forward(tokens, targets);
    model.backward();
    const analytic = Float32Array.from(model.grads);
    const p = model.params;
    const h = 1e-2;
    for (const [name, off, n] of groups(model)) {
      let worst = 0;
      for (let s = 0; s < 6; s++) {
        const i = off + rng.int(n);
        const keep = p[i];
        p[i] = keep + h;
        const up = model.forward(tokens, targets);
        p[i] = keep - h;
        const down = model.forward(tokens, targets);
        p[i] = keep;
        const numeric = (up - down) / (2 * h);
        const err =
          Math.abs(numeric - analytic[i]) /
          Math.max(1e-3, Math.abs(numeric) + Math.abs(analytic[i]));
        worst = Math.max(worst, err);
      }
      assert.ok(worst < 3e-2, `${name}: worst relative error ${worst}`);
    }
    await pool.close();
  });
}
