/**
 * `textgen train FILES... --name NAME`: trains a byte-fallback BPE tokenizer and a small Llama decoder
 * on plain text, on the CPU, and writes the model into the cache as `local/NAME` (or to --output), in
 * the layout every textgen command loads. Checkpoints are kept in the user's data folder so an
 * interrupted run continues with --resume.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError, InputError, AbortedError } from '../generation/errors.js';
import { BpeEncoder, trainBpe } from '../generation/training/bpe-trainer.js';
import {
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type Checkpoint,
  type CheckpointMeta,
} from '../generation/training/checkpoint.js';
import {
  encodeStream,
  ensureValidationWindow,
  readDocuments,
  splitCorpus,
  unigramLoss,
} from '../generation/training/data.js';
import { writeModelDir } from '../generation/training/export.js';
import { measureMatmulGflops } from '../generation/training/matmul-bench.js';
import { paramLayout, type LlamaConfig } from '../generation/training/model-params.js';
import { progressLine } from '../common/progress.js';
import {
  progressLine as trainProgressText,
  summaryText,
  type TrainSummary,
} from '../generation/training/report.js';
import { train, type TrainProgress, type TrainResult } from '../generation/training/trainer.js';
import { finalizeLocalModel, localModelDir } from '../models-cache/paths.js';
import { isValidRepoId } from '../models-cache/validate.js';
import type { Command, CommandContext, OptionSpec } from './command.js';
import { claimTarget } from './train-target.js';

const int = (description: string, valueName = 'N'): OptionSpec => ({
  type: 'string',
  description,
  valueName,
});

const options: Record<string, OptionSpec> = {
  name: {
    type: 'string',
    description: 'Name of the model: it is saved as local/NAME.',
    valueName: 'NAME',
  },
  output: {
    type: 'string',
    description: 'Write the model folder here instead of the model cache.',
    valueName: 'DIR',
  },
  'vocab-size': int('Tokenizer vocabulary size (default 1024).'),
  dim: int('Hidden size (default 128).'),
  layers: int('Decoder layers (default 4).'),
  heads: int('Attention heads (default 4).'),
  'kv-heads': int('Key/value heads, a divisor of --heads (default 2).'),
  'ffn-dim': int('SwiGLU inner size (default 8/3 of --dim, rounded up to 32).'),
  context: int('Context length in tokens (default 256).'),
  batch: int('Sequences per step (default 4).'),
  steps: int('Optimizer steps (default 1000).'),
  lr: { type: 'string', description: 'Peak learning rate (default 0.003).', valueName: 'X' },
  warmup: int('Warmup steps (default 5% of --steps).'),
  'weight-decay': {
    type: 'string',
    description: 'AdamW weight decay (default 0.1).',
    valueName: 'X',
  },
  'val-fraction': {
    type: 'string',
    description: 'Fraction of paragraphs held out for validation (default 0.05).',
    valueName: 'X',
  },
  'eval-every': int('Steps between validation passes (default 50).'),
  'eval-windows': int('Validation windows of --context tokens scored per pass (default 64).'),
  'checkpoint-every': int('Steps between checkpoints (default 50).'),
  seed: int('Random seed (default 1).'),
  threads: int('Kernel threads, including this one (default 2, at most the CPU count).'),
  resume: { type: 'boolean', description: 'Continue from the last checkpoint of NAME.' },
  force: {
    type: 'boolean',
    description: 'Replace an existing model or checkpoint of NAME (or a non-empty --output).',
  },
};

function intFlag(ctx: CommandContext, name: string, fallback: number, min = 1): number {
  const raw = ctx.values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${String(raw)}'.`);
  return n;
}

function numFlag(
  ctx: CommandContext,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = ctx.values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number in [${min}, ${max}], got '${String(raw)}'.`);
  return n;
}

function modelConfig(ctx: CommandContext): LlamaConfig {
  const dim = intFlag(ctx, 'dim', 128, 8),
    heads = intFlag(ctx, 'heads', 4),
    kvHeads = intFlag(ctx, 'kv-heads', 2);
  if (dim % heads !== 0 || (dim / heads) % 2 !== 0)
    throw new UsageError('--dim must be a multiple of --heads with an even head size.');
  if (heads % kvHeads !== 0) throw new UsageError('--kv-heads must divide --heads.');
  const vocabSize = intFlag(ctx, 'vocab-size', 1024, 300);
  return {
    vocabSize,
    dim,
    nLayers: intFlag(ctx, 'layers', 4),
    nHeads: heads,
    nKvHeads: kvHeads,
    headDim: dim / heads,
    ffnDim: intFlag(ctx, 'ffn-dim', Math.ceil((dim * 8) / 3 / 32) * 32),
    maxSeqLen: intFlag(ctx, 'context', 256, 8),
    ropeTheta: 10000,
    normEps: 1e-5,
  };
}

function freshMeta(ctx: CommandContext, config: LlamaConfig, trainDocs: string[]): CheckpointMeta {
  const steps = intFlag(ctx, 'steps', 1000);
  const lr = numFlag(ctx, 'lr', 3e-3, 0, 1);
  return {
    version: 1,
    config,
    bpe: trainBpe(trainDocs, config.vocabSize),
    optim: {
      lr,
      minLr: lr / 10,
      warmupSteps: intFlag(ctx, 'warmup', Math.max(1, Math.round(steps / 20)), 0),
      totalSteps: steps,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: numFlag(ctx, 'weight-decay', 0.1, 0, 10),
      clip: 1,
    },
    batch: intFlag(ctx, 'batch', 4),
    seed: intFlag(ctx, 'seed', 1, 0),
    valFraction: numFlag(ctx, 'val-fraction', 0.05, 0, 0.5),
    step: 0,
    tokensSeen: 0,
    elapsedMs: 0,
    rngState: 0,
    history: [],
  };
}

/**
 * Where the checkpoints of NAME live: the user's data folder ($TEXTGEN_DATA_DIR/training/NAME, else
 * $XDG_DATA_HOME/textgen/training/NAME, else ~/.local/share/textgen/training/NAME). Not in the model
 * cache, where a run stopped before its first export would look like a damaged download.
 */
export function trainingDir(name: string, env: NodeJS.ProcessEnv): string {
  if (env.TEXTGEN_DATA_DIR) return join(env.TEXTGEN_DATA_DIR, 'training', name);
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'textgen', 'training', name);
}

interface Prepared {
  meta: CheckpointMeta;
  ckpt?: Checkpoint;
  trainStream: Int32Array;
  valStream: Int32Array;
  /** What the validation split holds out (paragraphs, lines, the end of the text, ...). */
  split: string;
  steps: number;
}

/** Reads the corpus and either loads the checkpoint (--resume) or trains the tokenizer for a new run. */
function prepare(ctx: CommandContext, ckptDir: string): Prepared {
  for (const f of ctx.positionals) if (!existsSync(f)) throw new InputError(`No such file: ${f}`);
  // Natural order, independent of how the shell sorted a glob, so a recipe is reproducible anywhere.
  const files = [...ctx.positionals].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const docs = readDocuments(files);
  const resuming = ctx.values.resume === true;
  if (resuming && !hasCheckpoint(ckptDir))
    throw new UsageError(`No checkpoint to resume in ${ckptDir}.`);
  const ckpt = resuming ? loadCheckpoint(ckptDir) : undefined;
  const valFraction = ckpt?.meta.valFraction ?? numFlag(ctx, 'val-fraction', 0.05, 0, 0.5);
  const split = splitCorpus(docs, valFraction);
  const meta = ckpt?.meta ?? freshMeta(ctx, modelConfig(ctx), split.train);
  const encoder = new BpeEncoder(meta.bpe);
  const T = meta.config.maxSeqLen;
  const {
    train: trainStream,
    val: valStream,
    moved,
  } = ensureValidationWindow(
    encodeStream(split.train, encoder),
    encodeStream(split.val, encoder),
    T,
    valFraction,
  );
  if (trainStream.length <= T + 1)
    throw new InputError(
      `The training text is only ${trainStream.length} tokens; it needs more than --context (${T}).`,
    );
  return {
    meta,
    ckpt,
    trainStream,
    valStream,
    split: valFraction <= 0 ? 'none' : moved > 0 ? 'the last tokens' : split.unit,
    steps: intFlag(ctx, 'steps', ckpt?.meta.optim.totalSteps ?? 1000),
  };
}

/** Progress on stderr: a redrawn bar on a terminal, a line every 10 steps otherwise. */
function progressWriter(ctx: CommandContext): (p: TrainProgress) => void {
  const line = progressLine(ctx.stderr, { drawEveryMs: 0, plainEveryMs: Infinity });
  return (p) => {
    if (p.step === p.steps) line.done(trainProgressText(p));
    else line.update(trainProgressText(p), !ctx.stderr.isTTY && p.step % 10 === 0);
  };
}

function summarize(p: Prepared, result: TrainResult, matmulGflops: number): TrainSummary {
  const m = result.checkpoint.meta;
  const unigram = unigramLoss(
    p.trainStream,
    p.valStream,
    m.config.vocabSize,
    m.config.maxSeqLen,
    result.evalWindows,
  );
  const seconds = m.elapsedMs / 1000;
  const tokensPerSecond = m.tokensSeen / seconds;
  return {
    parameters: paramLayout(m.config).size,
    tokensSeen: m.tokensSeen,
    steps: m.step,
    wallSeconds: seconds,
    trainTokens: p.trainStream.length,
    valTokens: p.valStream.length,
    valLoss: result.finalValLoss,
    valPerplexity: Math.exp(result.finalValLoss),
    unigramValLoss: unigram,
    unigramValPerplexity: Math.exp(unigram),
    tokensPerSecond,
    gflops: result.gflopsPerToken * tokensPerSecond,
    threads: result.threads,
    matmulGflops,
    aborted: false,
  };
}

/** The `train` command. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a small causal LM from plain text.',
  usage:
    'textgen train FILES... --name NAME [--steps N] [--dim N] [--layers N] [--vocab-size N] [--resume]',
  options,
  async run(ctx) {
    const started = performance.now();
    const name = ctx.values.name;
    // Checked as the model id local/NAME will be, before any training: finalizing refuses a bad one.
    if (typeof name !== 'string' || !isValidRepoId(`local/${name}`))
      throw new UsageError(
        `--name NAME is required: letters, digits, ".", "_", "-", starting and ending with a letter or digit, no "--" or ".."${typeof name === 'string' ? `, got '${name}'` : ''}.`,
      );
    if (ctx.positionals.length === 0)
      throw new UsageError('Give one or more plain-text files to train on.');
    const output = typeof ctx.values.output === 'string' ? resolve(ctx.values.output) : undefined;
    const snapshot = output ?? localModelDir(name, ctx.env);
    const ckptDir = trainingDir(name, ctx.env);
    if (
      ctx.values.resume !== true &&
      !(await claimTarget(ctx, { name, modelDir: snapshot, isOutput: !!output, ckptDir }))
    ) {
      ctx.stderr.write('Nothing trained.\n');
      return 0;
    }
    const prepared = prepare(ctx, ckptDir);
    const { meta, ckpt } = prepared;
    const threads = Math.min(intFlag(ctx, 'threads', 2), availableParallelism());
    const matmulGflops = measureMatmulGflops();
    ctx.stderr.write(
      `${ckpt ? 'Resuming' : 'Training'} local/${name}: ${paramLayout(meta.config).size.toLocaleString('en-US')} parameters, ${prepared.trainStream.length.toLocaleString('en-US')} training and ${prepared.valStream.length.toLocaleString('en-US')} validation tokens (held-out ${prepared.split}), ${threads} thread(s); single-thread matmul ${matmulGflops.toFixed(2)} GFLOP/s\n`,
    );
    const result = await train({
      start: ckpt ?? { meta },
      steps: prepared.steps,
      train: prepared.trainStream,
      val: prepared.valStream,
      evalEvery: intFlag(ctx, 'eval-every', 50),
      evalWindows: intFlag(ctx, 'eval-windows', 64),
      checkpointEvery: intFlag(ctx, 'checkpoint-every', 50),
      threads,
      signal: ctx.signal,
      onProgress: progressWriter(ctx),
      onCheckpoint: (c) => saveCheckpoint(ckptDir, c),
    });
    if (result.aborted) {
      ctx.stderr.write(
        `\nStopped at step ${result.checkpoint.meta.step}; checkpoint kept in ${ckptDir} (continue with --resume).\n`,
      );
      throw new AbortedError();
    }
    const summary = summarize(prepared, result, matmulGflops);
    const m = result.checkpoint.meta;
    writeModelDir(snapshot, m.config, m.bpe, result.checkpoint.params, {
      ...summary,
      config: m.config,
      history: m.history,
      commandSeconds: (performance.now() - started) / 1000,
    });
    if (!output) finalizeLocalModel(name, ctx.env);
    ctx.stderr.write(`${summaryText(summary)}\nWrote ${output ?? `local/${name} (${snapshot})`}\n`);
    return 0;
  },
};
