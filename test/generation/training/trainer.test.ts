// The training loop on a tiny model and corpus: validation loss falls within seconds, and a run stopped
// and resumed from its checkpoint ends with exactly the parameters of an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpeEncoder, trainBpe } from '../../../generation/training/bpe-trainer.js';
import {
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointMeta,
} from '../../../generation/training/checkpoint.js';
import { encodeStream, splitDocuments, unigramLoss } from '../../../generation/training/data.js';
import { train } from '../../../generation/training/trainer.js';

// A small, highly regular corpus, so that a few dozen steps of a tiny model learn something.
const words = [
  'the',
  'whale',
  'sea',
  'ship',
  'captain',
  'white',
  'boat',
  'harpoon',
  'deep',
  'wind',
];
const docs = Array.from(
  { length: 120 },
  (_, i) =>
    Array.from({ length: 12 }, (_, j) => words[(i * 7 + j * 3 + (j % 4)) % words.length]).join(
      ' ',
    ) + '.',
);
const { train: trainDocs, val: valDocs } = splitDocuments(docs, 0.1);
const bpe = trainBpe(trainDocs, 300);
const encoder = new BpeEncoder(bpe);
const trainStream = encodeStream(trainDocs, encoder);
const valStream = encodeStream(valDocs, encoder);

function meta(): CheckpointMeta {
  return {
    version: 1,
    bpe,
    batch: 4,
    seed: 5,
    valFraction: 0.1,
    step: 0,
    tokensSeen: 0,
    elapsedMs: 0,
    rngState: 0,
    history: [],
    config: {
      vocabSize: 300,
      dim: 32,
      nLayers: 2,
      nHeads: 4,
      nKvHeads: 2,
      headDim: 8,
      ffnDim: 64,
      maxSeqLen: 32,
      ropeTheta: 10000,
      normEps: 1e-5,
    },
    optim: {
      lr: 1e-2,
      minLr: 1e-3,
      warmupSteps: 5,
      totalSteps: 60,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: 0.1,
      clip: 1,
    },
  };
}

const run = {
  train: trainStream,
  val: valStream,
  evalEvery: 10,
  evalWindows: 8,
  checkpointEvery: 10,
  threads: 2,
};

test('a tiny end-to-end training run lowers the validation loss below the unigram baseline', async () => {
  const result = await train({ ...run, start: { meta: meta() }, steps: 60 });
  const history = result.checkpoint.meta.history;
  assert.equal(result.aborted, false);
  assert.equal(result.checkpoint.meta.tokensSeen, 60 * 4 * 32);
  assert.ok(history.at(-1)!.valLoss < history[0].valLoss - 0.5, JSON.stringify(history));
  assert.ok(
    result.finalValLoss < unigramLoss(trainStream, valStream, 300, 32, result.evalWindows),
    'result.finalValLoss < unigramLoss(trainStream, valStream, 300, 32, result.evalWindows)',
  );
});

test('stopping and resuming from the checkpoint reproduces the uninterrupted run exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'textgen-ckpt-'));
  try {
    const steps = 12;
    const full = await train({ ...run, start: { meta: meta() }, steps, threads: 1 });
    const controller = new AbortController();
    const first = await train({
      ...run,
      start: { meta: meta() },
      steps,
      threads: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 5) controller.abort();
      },
      onCheckpoint: (c) => saveCheckpoint(dir, c),
    });
    assert.equal(first.aborted, true);
    const saved = loadCheckpoint(dir);
    assert.equal(saved.meta.step, 5);
    const resumed = await train({ ...run, start: saved, steps, threads: 2 });
    assert.equal(resumed.checkpoint.meta.step, steps);
    assert.deepEqual(resumed.checkpoint.params, full.checkpoint.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
