/**
 * The training data: plain-text files split into documents (paragraphs), a held-out validation split,
 * token streams with BOS/EOS around each document, random training windows, the validation windows,
 * and the unigram baseline on the same validation targets.
 */
import { readFileSync } from 'node:fs';
import { BOS_ID, EOS_ID, type BpeEncoder } from './bpe-trainer.js';
import type { Rng } from './rng.js';

/**
 * Reads files as UTF-8 and splits them into documents at blank lines. Paragraphs are the documents, so
 * the model learns to end a paragraph with EOS and a generation stops at a paragraph's end.
 */
export function readDocuments(files: string[]): string[] {
  const docs: string[] = [];
  for (const file of files) {
    for (const para of readFileSync(file, 'utf8')
      .replace(/\r\n?/g, '\n')
      .split(/\n[ \t]*\n/)) {
      const text = para.trim();
      if (text) docs.push(text);
    }
  }
  return docs;
}

/** Splits documents into training and validation sets: every k-th document (k = 1/valFraction) is held out. */
export function splitDocuments(
  docs: string[],
  valFraction: number,
): { train: string[]; val: string[] } {
  if (valFraction <= 0) return { train: docs, val: [] };
  const k = Math.max(2, Math.round(1 / valFraction));
  return {
    train: docs.filter((_, i) => i % k !== k - 1),
    val: docs.filter((_, i) => i % k === k - 1),
  };
}

/** How the validation text was held out. */
export type SplitUnit = 'paragraphs' | 'lines' | 'text';

/**
 * Holds out validation text whatever the corpus looks like: every k-th paragraph; when that leaves no
 * paragraph (a text without blank lines), every k-th line; when there are too few lines too, the last
 * valFraction of the text, cut at a space. Deterministic, so --resume rebuilds the same split.
 */
export function splitCorpus(
  docs: string[],
  valFraction: number,
): { train: string[]; val: string[]; unit: SplitUnit } {
  const byParagraph = splitDocuments(docs, valFraction);
  if (valFraction <= 0 || byParagraph.val.length > 0) return { ...byParagraph, unit: 'paragraphs' };
  const lines = docs.flatMap((d) => d.split('\n')).filter((l) => l.trim() !== '');
  const byLine = splitDocuments(lines, valFraction);
  if (byLine.val.length > 0) return { ...byLine, unit: 'lines' };
  const text = docs.join('\n');
  let cut = Math.floor(text.length * (1 - valFraction));
  const space = text.lastIndexOf(' ', cut);
  if (space > text.length / 2) cut = space;
  return { train: [text.slice(0, cut).trim()], val: [text.slice(cut).trim()], unit: 'text' };
}

/**
 * Moves the tail of the training stream to validation when the held-out text is shorter than one
 * validation window (seqLen + 1 tokens): a tiny corpus still gets a validation loss, never NaN.
 * Returns the streams unchanged when the training stream could not spare the tokens.
 */
export function ensureValidationWindow(
  train: Int32Array,
  val: Int32Array,
  seqLen: number,
  valFraction: number,
): { train: Int32Array; val: Int32Array; moved: number } {
  if (valFraction <= 0 || val.length > seqLen) return { train, val, moved: 0 };
  const want = Math.max(seqLen + 1, Math.ceil(train.length * valFraction)) - val.length;
  if (train.length - want <= seqLen + 1) return { train, val, moved: 0 };
  const cut = train.length - want;
  const joined = new Int32Array(want + val.length);
  joined.set(train.subarray(cut), 0);
  joined.set(val, want);
  return { train: train.slice(0, cut), val: joined, moved: want };
}

/** Encodes documents into one stream: BOS doc EOS BOS doc EOS ... */
export function encodeStream(docs: string[], encoder: BpeEncoder): Int32Array {
  const out: number[] = [];
  for (const doc of docs) {
    out.push(BOS_ID);
    for (const id of encoder.encode(doc)) out.push(id);
    out.push(EOS_ID);
  }
  return Int32Array.from(out);
}

/** Fills `inputs` and `targets` with `batch` random windows of `seqLen` (+1 shifted) tokens. */
export function sampleBatch(
  stream: Int32Array,
  batch: number,
  seqLen: number,
  rng: Rng,
  inputs: Int32Array,
  targets: Int32Array,
): void {
  for (let b = 0; b < batch; b++) {
    const start = rng.int(stream.length - seqLen);
    for (let t = 0; t < seqLen; t++) {
      inputs[b * seqLen + t] = stream[start + t];
      targets[b * seqLen + t] = stream[start + t + 1];
    }
  }
}

/** The number of non-overlapping validation windows of `seqLen` (+1) tokens, capped at `max`. */
export function validationWindows(stream: Int32Array, seqLen: number, max = Infinity): number {
  return Math.min(max, Math.max(0, Math.floor((stream.length - 1) / seqLen)));
}

/** Fills window `w` of the validation stream (tokens [w·T, w·T+T], targets shifted by one). */
export function validationWindow(
  stream: Int32Array,
  seqLen: number,
  w: number,
  inputs: Int32Array,
  targets: Int32Array,
  row: number,
): void {
  for (let t = 0; t < seqLen; t++) {
    inputs[row * seqLen + t] = stream[w * seqLen + t];
    targets[row * seqLen + t] = stream[w * seqLen + t + 1];
  }
}

/**
 * Cross-entropy (nats/token) of an add-one-smoothed unigram model fitted on the training stream, on the
 * same validation targets the model is scored on (the first `windows` windows).
 */
export function unigramLoss(
  train: Int32Array,
  val: Int32Array,
  vocabSize: number,
  seqLen: number,
  windows: number,
): number {
  const counts = new Float64Array(vocabSize).fill(1);
  for (const id of train) counts[id]++;
  const total = train.length + vocabSize;
  let sum = 0;
  const n = windows * seqLen;
  for (let i = 1; i <= n; i++) sum -= Math.log(counts[val[i]] / total);
  return n > 0 ? sum / n : Number.NaN;
}
