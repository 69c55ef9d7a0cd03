/**
 * Resumable checkpoints: a JSON file (configuration, tokenizer, step, RNG state, history) and a binary
 * file (parameters and both AdamW moments, float32 little-endian). Both are written to temporary names
 * and renamed, the JSON last, so an interrupted write leaves the previous checkpoint intact.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamWOptions } from './adamw.js';
import type { BpeModel } from './bpe-trainer.js';
import { paramLayout, type LlamaConfig } from './model-params.js';
import { InputError } from '../errors.js';

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

/** Reads the checkpoint in `dir`; a missing, damaged or mismatched one is an InputError naming it. */
export function loadCheckpoint(dir: string): Checkpoint {
  const damaged = (what: string) =>
    new InputError(
      `The training checkpoint in ${dir} is damaged (${what}).`,
      `Delete ${dir} to start over, or train under another --name.`,
    );
  let meta: CheckpointMeta;
  let buf: Buffer;
  try {
    meta = JSON.parse(readFileSync(join(dir, META), 'utf8')) as CheckpointMeta;
    buf = readFileSync(join(dir, DATA));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw damaged(e.code ? `${e.code} reading it` : `${META} is not JSON`);
  }
  const problem = metaProblem(meta);
  if (problem) throw damaged(problem);
  const n = paramLayout(meta.config).size;
  if (buf.byteLength !== 12 * n)
    throw damaged(`${DATA} holds ${buf.byteLength} bytes; the model needs ${12 * n}`);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  if (!all.subarray(0, n).every(Number.isFinite)) throw damaged('non-finite weights');
  return { meta, params: all.subarray(0, n), m: all.subarray(n, 2 * n), v: all.subarray(2 * n) };
}

const CONFIG_KEYS = [
  'vocabSize',
  'dim',
  'nLayers',
  'nHeads',
  'nKvHeads',
  'headDim',
  'ffnDim',
  'maxSeqLen',
];
const OPTIM_KEYS = [
  'lr',
  'minLr',
  'warmupSteps',
  'totalSteps',
  'beta1',
  'beta2',
  'eps',
  'weightDecay',
  'clip',
];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What is wrong with a checkpoint's JSON, or undefined: every field the trainer reads, by type. */
function metaProblem(m: unknown): string | undefined {
  if (!isObject(m)) return 'not a JSON object';
  if (m.version !== 1) return `version ${JSON.stringify(m.version)}, expected 1`;
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const { config, optim, bpe } = m;
  if (!isObject(config)) return 'no model config';
  for (const k of CONFIG_KEYS)
    if (!posInt(config[k])) return `config.${k} is not a positive integer`;
  if (!num(config.ropeTheta) || !num(config.normEps)) return 'config.ropeTheta/normEps';
  if ((config.nHeads as number) % (config.nKvHeads as number) !== 0)
    return 'config.nKvHeads does not divide nHeads';
  if (!isObject(optim)) return 'no optimizer settings';
  for (const k of OPTIM_KEYS) if (!num(optim[k])) return `optim.${k} is not a number`;
  if (
    !isObject(bpe) ||
    !Array.isArray(bpe.vocab) ||
    !bpe.vocab.every((t: unknown) => typeof t === 'string') ||
    !Array.isArray(bpe.merges) ||
    !bpe.merges.every((p: unknown) => Array.isArray(p) && p.length === 2)
  )
    return 'the tokenizer (bpe) is malformed';
  if (bpe.vocab.length !== config.vocabSize) return 'the tokenizer does not match vocabSize';
  for (const k of ['batch', 'seed', 'step', 'tokensSeen', 'elapsedMs', 'rngState', 'valFraction']) {
    const v = m[k];
    if (!num(v) || v < 0) return `${k} is not a non-negative number`;
  }
  if (!Number.isInteger(m.step)) return 'step is not an integer';
  if (!Array.isArray(m.history) || !m.history.every((h: unknown) => isObject(h) && num(h.step)))
    return 'history is malformed';
  return undefined;
}
