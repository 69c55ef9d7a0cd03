// Export parity: the ONNX graph written from the trainer's weights by the Llama emitter, run by onnxruntime-node, gives the trainer's
// logits (max abs diff ≤ 1e-4) on a batch; incremental decoding with the KV cache and left padding agree
// with the full pass; a fully masked row gives finite numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { KernelPool } from '../../../generation/training/kernel-pool.js';
import { LlamaModel } from '../../../generation/training/model.js';
import { initParams, type LlamaConfig } from '../../../generation/training/model-params.js';
import { writeOnnx } from '../../../generation/training/export.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../../generation/training/rng.js';

const c: LlamaConfig = {
  vocabSize: 37,
  dim: 16,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  headDim: 8,
  ffnDim: 24,
  maxSeqLen: 12,
  ropeTheta: 10000,
  normEps: 1e-5,
};
const B = 3,
  T = 12;

async function setup() {
  const pool = new KernelPool(LlamaModel.arenaFloats(c, B, T), 1);
  const model = new LlamaModel(c, pool, B, T);
  const rng = new Rng(3);
  initParams(c, model.params, rng);
  // Trained-like weights: well away from the init so every op influences the logits.
  for (let i = 0; i < model.params.length; i++) model.params[i] += rng.normal() * 0.2;
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(c.vocabSize));
  model.forward(tokens);
  const expected = Float32Array.from(model.logitsView(B));
  const dir = mkdtempSync(join(tmpdir(), 'textgen-export-'));
  writeOnnx(join(dir, 'model.onnx'), c, model.params);
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
  rmSync(dir, { recursive: true, force: true });
  await pool.close();
  return { tokens, expected, session };
}

const i64 = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);

function emptyPast(batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < c.nLayers; l++)
    for (const k of ['key', 'value'])
      feeds[`past_key_values.${l}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [
        batch,
        c.nKvHeads,
        0,
        c.headDim,
      ]);
  return feeds;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const ready = setup();

test('ONNX logits equal the trainer forward pass on a batch (max abs diff ≤ 1e-4)', async () => {
  const { tokens, expected, session } = await ready;
  const pos = Array.from({ length: B * T }, (_, i) => i % T);
  const out = await session.run({
    input_ids: i64([...tokens], [B, T]),
    attention_mask: i64(new Array(B * T).fill(1), [B, T]),
    position_ids: i64(pos, [B, T]),
    ...emptyPast(B),
  });
  assert.deepEqual(out.logits.dims, [B, T, c.vocabSize]);
  assert.deepEqual(out['present.1.value'].dims, [B, c.nKvHeads, T, c.headDim]);
  const diff = maxDiff(out.logits.data as Float32Array, expected);
  assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
});

test('incremental decoding with the KV cache reproduces the full pass', async () => {
  const { tokens, expected, session } = await ready;
  let past = emptyPast(1);
  for (let t = 0; t < T; t++) {
    const out = await session.run({
      input_ids: i64([tokens[t]], [1, 1]),
      attention_mask: i64(new Array(t + 1).fill(1), [1, t + 1]),
      position_ids: i64([t], [1, 1]),
      ...past,
    });
    const diff = maxDiff(
      out.logits.data as Float32Array,
      expected.subarray(t * c.vocabSize, (t + 1) * c.vocabSize),
    );
    assert.ok(diff <= 1e-4, `step ${t}: ${diff}`);
    past = {};
    for (let l = 0; l < c.nLayers; l++)
      for (const k of ['key', 'value'])
        past[`past_key_values.${l}.${k}`] = out[`present.${l}.${k}`];
  }
});

test('left padding gives the unpadded logits, and a fully masked row stays finite', async () => {
  const { tokens, expected, session } = await ready;
  const n = 7,
    pad = T - n;
  const ids = [...new Array(pad).fill(0), ...tokens.subarray(0, n), ...new Array(T).fill(5)];
  const mask = [...new Array(pad).fill(0), ...new Array(n).fill(1), ...new Array(T).fill(0)];
  const pos = [
    ...new Array(pad).fill(0),
    ...Array.from({ length: n }, (_, i) => i),
    ...new Array(T).fill(0),
  ];
  const out = await session.run({
    input_ids: i64(ids, [2, T]),
    attention_mask: i64(mask, [2, T]),
    position_ids: i64(pos, [2, T]),
    ...emptyPast(2),
  });
  const logits = out.logits.data as Float32Array;
  const diff = maxDiff(
    logits.subarray(pad * c.vocabSize, T * c.vocabSize),
    expected.subarray(0, n * c.vocabSize),
  );
  assert.ok(diff <= 1e-4, `padded diff ${diff}`);
  assert.ok(logits.every(Number.isFinite), 'logits.every(Number.isFinite)');
});
