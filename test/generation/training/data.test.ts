// The data pipeline on hand-written text: paragraphs as documents, the every-k-th validation split,
// BOS/EOS framing, the training windows, and the unigram baseline against a hand computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOS_ID, EOS_ID, BpeEncoder, trainBpe } from '../../../generation/training/bpe-trainer.js';
import {
  encodeStream,
  readDocuments,
  sampleBatch,
  splitDocuments,
  unigramLoss,
  validationWindows,
} from '../../../generation/training/data.js';
import { Rng } from '../../../generation/training/rng.js';

test('paragraphs separated by blank lines are the documents (CRLF too)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'textgen-data-'));
  try {
    writeFileSync(join(dir, 'a.txt'), 'One.\n\nTwo\nlines.\r\n\r\n  \n\nThree.\n');
    assert.deepEqual(readDocuments([join(dir, 'a.txt')]), ['One.', 'Two\nlines.', 'Three.']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every k-th document is held out', () => {
  const docs = Array.from({ length: 10 }, (_, i) => `d${i}`);
  assert.deepEqual(splitDocuments(docs, 0.25), {
    train: ['d0', 'd1', 'd2', 'd4', 'd5', 'd6', 'd8', 'd9'],
    val: ['d3', 'd7'],
  });
  assert.deepEqual(splitDocuments(docs, 0).val, []);
});

test('documents are framed by BOS and EOS, and windows are shifted by one', () => {
  const encoder = new BpeEncoder(trainBpe(['ab ab ab', 'ba'], 300));
  const stream = encodeStream(['ab', 'ba'], encoder);
  assert.equal(stream[0], BOS_ID);
  assert.equal(stream[stream.length - 1], EOS_ID);
  assert.deepEqual([...stream.subarray(1, stream.indexOf(EOS_ID))], encoder.encode('ab'));
  const inputs = new Int32Array(6),
    targets = new Int32Array(6);
  sampleBatch(stream, 2, 3, new Rng(1), inputs, targets);
  for (const row of [0, 1])
    assert.deepEqual(
      [...inputs.subarray(row * 3 + 1, row * 3 + 3)],
      [...targets.subarray(row * 3, row * 3 + 2)],
    );
  assert.equal(validationWindows(stream, 3), Math.floor((stream.length - 1) / 3));
});

test('the unigram baseline is the add-one smoothed cross-entropy on the scored targets', () => {
  const train = Int32Array.from([0, 0, 1, 2]);
  const val = Int32Array.from([9, 0, 1]);
  // counts+1 over vocab 3: [3, 2, 2] / 7; targets val[1..2] = 0, 1.
  const expected = -(Math.log(3 / 7) + Math.log(2 / 7)) / 2;
  assert.ok(
    Math.abs(unigramLoss(train, val, 3, 2, 1) - expected) < 1e-12,
    'Math.abs(unigramLoss(train, val, 3, 2, 1) - expected) < 1e-12',
  );
});
