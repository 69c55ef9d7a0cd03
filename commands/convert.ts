/**
 * `textgen convert SRC`: turns a Hugging Face checkpoint (config.json, safetensors, tokenizer.json) —
 * a folder, or an `org/name` pulled into the cache — into a model folder textgen and transformers.js
 * run, saved in the cache as `local/NAME` (or to --output). Progress goes to stderr; the conversion
 * runs in a worker so Ctrl-C stops it at once, leaving nothing behind.
 */
import { basename, resolve } from 'node:path';
import { AbortedError, UsageError } from '../generation/errors.js';
import {
  convertModel,
  WEIGHT_DTYPES,
  type ConvertEvent,
  type WeightDtype,
} from '../generation/index.js';
import { acquireRepoLock } from '../models-cache/lock.js';
import {
  finalizeLocalModel,
  hubCacheDir,
  LOCAL_ORG,
  localModelDir,
} from '../models-cache/paths.js';
import { resolveModel } from '../models-cache/resolve.js';
import { validateLocalName } from '../models-cache/validate.js';
import type { Command, CommandContext } from './command.js';
import { formatBytes, formatDuration } from './models-format.js';
import { progressBar, progressLine } from '../common/progress.js';

function contextFlag(ctx: CommandContext): number | undefined {
  const raw = ctx.values.context;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--context must be a positive integer, got '${String(raw)}'.`);
  return n;
}

function dtypeFlag(ctx: CommandContext): WeightDtype {
  const raw = (ctx.values.dtype as string | undefined) ?? 'fp32';
  if (!(WEIGHT_DTYPES as readonly string[]).includes(raw))
    throw new UsageError(`--dtype must be one of ${WEIGHT_DTYPES.join(', ')}, got '${raw}'.`);
  return raw as WeightDtype;
}

/** Progress on stderr through the one progress line: redrawn on a terminal, a line every 10 s otherwise. */
function reporter(ctx: CommandContext): (e: ConvertEvent) => void {
  const line = progressLine(ctx.stderr);
  // A terminal shows 100% before the file's line; a log needs no line of its own for it.
  const tty = ctx.stderr.isTTY === true;
  const started = Date.now();
  return (e) => {
    if (e.type === 'plan') {
      line.log(
        `Converting a ${e.family} model: ${e.parameters.toLocaleString('en-US')} parameters (${formatBytes(e.checkpointBytes)} of weights) to ${e.dtype}, context ${e.context}`,
      );
    } else if (e.type === 'progress') {
      const fraction = e.total ? e.done / e.total : 1;
      const elapsed = (Date.now() - started) / 1000;
      const eta = e.done > 0 ? (elapsed * (e.total - e.done)) / e.done : Infinity;
      line.update(
        `  ${e.file}: ${progressBar(fraction)} ${Math.floor(fraction * 100)}%  ETA ${formatDuration(eta)}`,
        tty && e.done === e.total,
      );
    } else {
      line.log(
        `  ${e.file}  ${formatBytes(e.bytes)}${e.externalData ? ` (weights in onnx/${e.externalData})` : ''}`,
      );
    }
  };
}

/** The `convert` command. */
export const convertCommand: Command = {
  name: 'convert',
  summary: 'Convert a Hugging Face checkpoint (safetensors) into an ONNX model.',
  usage:
    'textgen convert SRC [--name NAME | --output DIR] [--dtype fp32|fp16|q8|q4] [--context N] [--force]',
  options: {
    name: {
      type: 'string',
      valueName: 'NAME',
      description: 'Save as local/NAME in the model cache (default: the name of SRC).',
    },
    output: {
      type: 'string',
      valueName: 'DIR',
      description: 'Write the model folder here instead.',
    },
    dtype: {
      type: 'string',
      valueName: 'DTYPE',
      description: 'Weights: fp32 (default), fp16, q8 or q4 (MatMulNBits, block 32).',
    },
    context: {
      type: 'string',
      valueName: 'N',
      description: "Context length (default: the model's max_position_embeddings).",
    },
    force: { type: 'boolean', description: 'Replace an existing model of that name or folder.' },
  },
  async run(ctx) {
    if (ctx.positionals.length !== 1)
      throw new UsageError('Give one checkpoint: a folder or a cached org/name.');
    const [spec] = ctx.positionals;
    const output = typeof ctx.values.output === 'string' ? resolve(ctx.values.output) : undefined;
    if (output && ctx.values.name !== undefined)
      throw new UsageError('Pass --name or --output, not both.');
    const source = resolveModel(spec, { env: ctx.env });
    const name = (ctx.values.name as string | undefined) ?? basename(source.id.replace(/@.*$/, ''));
    if (!output) validateLocalName(name);
    const request = {
      source: source.dir,
      output: output ?? localModelDir(name, ctx.env),
      tempParent: output ? undefined : hubCacheDir(ctx.env),
      dtype: dtypeFlag(ctx),
      context: contextFlag(ctx),
      replace: ctx.values.force === true,
    };
    const started = Date.now();
    const lock = output
      ? undefined
      : await acquireRepoLock(`${LOCAL_ORG}/${name}`, { env: ctx.env, signal: ctx.signal });
    try {
      await convertModel(request, { signal: ctx.signal, onEvent: reporter(ctx) });
      if (!output) finalizeLocalModel(name, ctx.env);
    } catch (error) {
      // The CLI exits 130 without a message on Ctrl-C; say that the conversion left nothing.
      if (error instanceof AbortedError) ctx.stderr.write(`\n${error.message}\n`);
      throw error;
    } finally {
      lock?.release();
    }
    const where = output ?? `local/${name} (${request.output})`;
    ctx.stderr.write(
      `Wrote ${where} in ${formatDuration((Date.now() - started) / 1000)}. Run it: textgen generate --model ${output ?? `local/${name}`} "Once upon a time"\n`,
    );
    return 0;
  },
};
