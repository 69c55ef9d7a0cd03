/**
 * Resumable checkpoints: a JSON file (configuration, tokenizer, step, RNG state, history) and a binary
 * file (parameters and both AdamW moments, float32 little-endian). Both are written to temporary names
 * and renamed, the JSON last, so an interrupted write leaves the previous checkpoint intact.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamWOptions } from './adamw.js';
import type { BpeModel } from './bpe-trainer.js';
import type { LlamaConfig } from './model-params.js';

/** One evaluation point of the training history. */
export interface HistoryPoint {
  step: number;
  loss: number;
  valLoss: number;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface CheckpointMeta {
  version: 1;
  config: LlamaConfig;
  bpe: BpeModel;
  optim: AdamWOptions;
  batch: number;
  seed: number;
  valFraction: number;
  step: number;
  tokensSeen: number;
  elapsedMs: number;
  rngState: number;
  history: HistoryPoint[];
}

/** A checkpoint in memory. */
export interface Checkpoint {
  meta: CheckpointMeta;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

const META = 'checkpoint.json';
const DATA = 'checkpoint.bin';

/** Writes `ckpt` into `dir` atomically. */
export function saveCheckpoint(dir: string, ckpt: Checkpoint): void {
  mkdirSync(dir, { recursive: true });
  const n = ckpt.params.length;
  const buf = Buffer.alloc(12 * n);
  const f = new Float32Array(buf.buffer, buf.byteOffset, 3 * n);
  f.set(ckpt.params, 0);
  f.set(ckpt.m, n);
  f.set(ckpt.v, 2 * n);
  writeFileSync(join(dir, DATA + '.tmp'), buf);
  renameSync(join(dir, DATA + '.tmp'), join(dir, DATA));
  writeFileSync(join(dir, META + '.tmp'), JSON.stringify(ckpt.meta));
  renameSync(join(dir, META + '.tmp'), join(dir, META));
}

/** Whether `dir` holds a checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, META)) && existsSync(join(dir, DATA));
}

/** Reads the checkpoint in `dir`; throws if it is incomplete. */
export function loadCheckpoint(dir: string): Checkpoint {
  const meta = JSON.parse(readFileSync(join(dir, META), 'utf8')) as CheckpointMeta;
  const buf = readFileSync(join(dir, DATA));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const n = all.length / 3;
  if (!Number.isInteger(n) || meta.version !== 1) throw new Error(`corrupt checkpoint in ${dir}`);
  return { meta, params: all.subarray(0, n), m: all.subarray(n, 2 * n), v: all.subarray(2 * n) };
}
