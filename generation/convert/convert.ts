/**
 * Converts a Hugging Face checkpoint folder into a textgen model folder: config.json, generation
 * config and tokenizer files, and `onnx/model{suffix}.onnx` (the transformers.js-compatible graph of
 * the requested dtype). Everything is checked before anything is written (config fields, every
 * tensor's presence, shape and dtype, free disk space); the folder is assembled in a temporary
 * folder and renamed into place at the end, so a failure leaves nothing behind. Weights are read
 * from the safetensors files one tensor at a time and streamed to disk as the graph is built.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelError, TextgenError, UsageError } from '../errors.js';
import { DTYPE_SUFFIXES } from '../model/model-folder.js';
import type { WeightSource } from '../onnx-writer/decoder-common.js';
import { GraphBuilder, WeightSpool, withWeightSpool, writeModel } from '../onnx-writer/graph.js';
import { buildFusedDecoder, FUSED_OPSET, FUSED_STEM } from '../onnx-writer/fused-decoder.js';
import { buildGpt2, buildLlama, OPSET } from '../onnx-writer/llama-gpt2.js';
import type { WeightDtype } from '../onnx-writer/weight-emit.js';
import { Checkpoint, readJsonObject } from './checkpoint.js';
import { planFromConfig, type DecoderSpec, type Family } from './config-spec.js';
import { checkTokenizer, writeModelFiles } from './model-files.js';
import { checkTensors, tensorMap } from './tensor-map.js';

/** What to convert and where. */
export interface ConvertOptions {
  /** The checkpoint folder (config.json, safetensors, tokenizer.json). */
  source: string;
  /** The model folder to create. */
  output: string;
  dtype: WeightDtype;
  /** Context length to convert for (default: the model's position count). */
  context?: number;
  /** Replace `output` if it exists (otherwise that is a UsageError). */
  replace?: boolean;
  /** Folder for the temporary build, on the same file system as `output` (default: its parent). */
  tempParent?: string;
  onEvent?: (event: ConvertEvent) => void;
  /** Free bytes at a path (default: the file system's statfs); tests pass a small number. */
  freeBytes?: (path: string) => number;
  /** Models from this size on are written with external data (default just under 2 GiB). */
  inlineLimitBytes?: number;
}

/** Progress of a conversion. */
export type ConvertEvent =
  | {
      type: 'plan';
      family: Family;
      parameters: number;
      checkpointBytes: number;
      dtype: WeightDtype;
      context: number;
    }
  | { type: 'progress'; file: string; done: number; total: number }
  | { type: 'written'; file: string; bytes: number; externalData?: string };

/** What a conversion wrote. */
export interface ConvertResult {
  dir: string;
  family: Family;
  parameters: number;
  context: number;
  files: Array<{ path: string; bytes: number }>;
}

/** Output bytes per parameter of each dtype (q8/q4: codes plus one float scale per 32 weights). */
const BYTES_PER_PARAMETER: Record<WeightDtype, number> = { fp32: 4, fp16: 2, q8: 1.125, q4: 0.625 };

interface GraphJob {
  file: string;
  opset: number;
  build: (w: WeightSource) => GraphBuilder;
}

/**
 * The graphs a conversion writes, by file name under onnx/: the transformers.js-compatible
 * `model{suffix}.onnx`, and textgen's fused `${FUSED_STEM}{suffix}.onnx` (zero-copy KV cache), which
 * textgen prefers; both from the same weights, each read from the checkpoint in its own pass.
 */
function graphsFor(spec: DecoderSpec, dtype: WeightDtype): GraphJob[] {
  const suffix = DTYPE_SUFFIXES[dtype];
  return [
    {
      file: `model${suffix}.onnx`,
      opset: OPSET,
      build: (w) =>
        spec.arch === 'gpt2' ? buildGpt2(spec, w, { dtype }) : buildLlama(spec, w, { dtype }),
    },
    {
      file: `${FUSED_STEM}${suffix}.onnx`,
      opset: FUSED_OPSET,
      build: (w) => buildFusedDecoder(spec, w, { dtype }),
    },
  ];
}

function defaultFreeBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

function checkDisk(o: ConvertOptions, parent: string, need: number): void {
  const free = (o.freeBytes ?? defaultFreeBytes)(parent);
  if (free < need)
    throw new TextgenError(
      `Not enough disk space in ${parent}: converting needs about ${gb(need)}, ${gb(free)} is free.`,
      { hint: 'Free some space, convert to a smaller --dtype, or pass --output on another disk.' },
    );
}

/** Converts `o.source` into `o.output`; throws a TextgenError (nothing written) on any problem. */
export function convertCheckpoint(o: ConvertOptions): ConvertResult {
  if (!existsSync(o.source) || !statSync(o.source).isDirectory())
    throw new ModelError(`Checkpoint folder not found: ${o.source}.`);
  if (existsSync(o.output) && !o.replace)
    throw new UsageError(`${o.output} already exists.`, 'Pass --force to replace it.');
  const configPath = join(o.source, 'config.json');
  if (!existsSync(configPath)) throw new ModelError(`No config.json in ${o.source}.`);
  const config = readJsonObject(configPath);
  const plan = planFromConfig(config, { context: o.context });
  checkTokenizer(o.source);
  const ckpt = Checkpoint.open(o.source);
  try {
    const map = tensorMap(plan, ckpt);
    checkTensors(map, ckpt);
    const entries = [...map.expected.keys()].map((n) => ckpt.entry(n)!);
    const parameters = entries.reduce((a, e) => a + e.shape.reduce((x, y) => x * y, 1), 0);
    const checkpointBytes = entries.reduce((a, e) => a + e.byteLength, 0);
    const graphs = graphsFor(plan.spec, o.dtype);
    const parent = o.tempParent ?? dirname(o.output);
    mkdirSync(parent, { recursive: true });
    // Each graph's weights are spooled, then copied into its file: twice its size at the peak.
    checkDisk(o, parent, parameters * BYTES_PER_PARAMETER[o.dtype] * (graphs.length + 1) * 1.05);
    o.onEvent?.({
      type: 'plan',
      family: plan.family,
      parameters,
      checkpointBytes,
      dtype: o.dtype,
      context: plan.spec.maxPositions,
    });
    const tmp = mkdtempSync(join(parent, '.textgen-convert-'));
    try {
      const files = writeFolder(o, tmp, graphs, map.source, parameters);
      writeModelFiles(
        o.source,
        tmp,
        config,
        plan,
        files.flatMap((f) => (f.externalData ? [f.name] : [])),
      );
      moveIntoPlace(tmp, o.output);
      return {
        dir: o.output,
        family: plan.family,
        parameters,
        context: plan.spec.maxPositions,
        files: files.flatMap((f) => [
          { path: `onnx/${f.name}`, bytes: f.bytes },
          ...(f.externalData ? [{ path: `onnx/${f.externalData}`, bytes: f.externalBytes }] : []),
        ]),
      };
    } catch (error) {
      rmSync(tmp, { recursive: true, force: true });
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
        throw new TextgenError(
          `The disk filled up while converting into ${parent}; nothing was kept.`,
          {
            hint: 'Free some space or pass --output on another disk.',
            cause: error,
          },
        );
      throw error;
    }
  } finally {
    ckpt.close();
  }
}

interface WrittenGraph {
  name: string;
  bytes: number;
  externalData?: string;
  externalBytes: number;
}

function writeFolder(
  o: ConvertOptions,
  tmp: string,
  graphs: ReturnType<typeof graphsFor>,
  source: WeightSource,
  parameters: number,
): WrittenGraph[] {
  mkdirSync(join(tmp, 'onnx'));
  return graphs.map(({ file, opset, build }) => {
    let done = 0;
    const counted: WeightSource = (name, dims, init) => {
      const w = source(name, dims, init);
      done += w.length;
      o.onEvent?.({ type: 'progress', file, done: Math.min(done, parameters), total: parameters });
      return w;
    };
    const path = join(tmp, 'onnx', file);
    const spool = new WeightSpool(`${path}.spool`);
    let external: string | undefined;
    try {
      const g = withWeightSpool(spool, () => build(counted));
      o.onEvent?.({ type: 'progress', file, done: parameters, total: parameters });
      external = writeModel(path, g, opset, {
        producer: 'textgen convert',
        inlineLimitBytes: o.inlineLimitBytes,
      });
    } finally {
      spool.close();
    }
    const bytes = statSync(path).size;
    const externalBytes = external ? statSync(join(tmp, 'onnx', external)).size : 0;
    o.onEvent?.({
      type: 'written',
      file: `onnx/${file}`,
      bytes: bytes + externalBytes,
      externalData: external,
    });
    return { name: file, bytes, externalData: external, externalBytes };
  });
}

/** Renames the finished folder to `output`, replacing an existing one only after the new one is complete. */
function moveIntoPlace(tmp: string, output: string): void {
  // mkdtemp makes the folder private (0700); a model folder is as readable as any other.
  chmodSync(tmp, 0o755);
  mkdirSync(dirname(output), { recursive: true });
  if (!existsSync(output)) {
    renameSync(tmp, output);
    return;
  }
  const old = `${tmp}.old`;
  renameSync(output, old);
  renameSync(tmp, output);
  rmSync(old, { recursive: true, force: true });
}
