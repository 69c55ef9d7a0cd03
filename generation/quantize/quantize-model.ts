/**
 * `textgen quantize` on a model folder: every ONNX file of its fp32 variant (both halves of an
 * encoder-decoder, the merged decoder's If branches included) is rewritten beside the source with the
 * transformers.js suffix of the new dtype. Files are written under hidden temporary names and renamed
 * only when all of them are complete, the file that completes the set last, so an interrupted run
 * leaves nothing the loader would pick. Then the variant is loaded, its I/O signature compared with
 * the source's, and one decode step timed against it.
 */
import { accessSync, constants, existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { AbortedError, ModelError, UsageError } from '../errors.js';
import {
  DTYPE_SUFFIXES,
  inspectModelFolder,
  type ModelFolder,
  type OnnxLayout,
} from '../model/model-folder.js';
import { ioSignature, signatureDiff, timeSteps } from '../runtime/session-check.js';
import type { HeadMode, QuantDtype } from './plan.js';
import { prepareFile, writePrepared, type PreparedFile } from './quantize-file.js';
import { readReport, recordVariant, type CheckRecord, type VariantRecord } from './report.js';

/** What to quantize and how. */
export interface QuantizeRequest {
  dir: string;
  dtype: QuantDtype;
  blockSize?: number;
  /** The LM head and token embedding (default q8: per-channel int8). */
  head?: HeadMode;
  /** Replace an existing variant textgen did not write. */
  force?: boolean;
  /** Load and time the result (default true). */
  check?: boolean;
  signal?: AbortSignal;
}

/** Progress and results, for a front-end to render. */
export type QuantizeEvent =
  | { type: 'start'; dtype: QuantDtype; files: Array<{ source: string; target: string }> }
  | { type: 'progress'; file: string; written: number; total: number }
  | { type: 'written'; file: string; bytesBefore: number; bytesAfter: number; rewrites: number }
  | { type: 'checking'; file: string }
  | { type: 'warning'; message: string }
  | { type: 'done'; record: VariantRecord; reportPath: string };

const WRITE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};

/** A failed write as a one-line ModelError (anything else passes through). */
function writeError(error: unknown, dir: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || !WRITE_ERRORS[code]) return error;
  return new ModelError(
    `Cannot write the variant in ${dir}: ${WRITE_ERRORS[code]}.`,
    'Nothing was left behind. Free space, or copy the model folder somewhere writable.',
    error,
  );
}

/** The ONNX files of a layout, in the order they are renamed (the set's last piece last). */
function layoutFiles(layout: OnnxLayout): string[] {
  switch (layout.kind) {
    case 'decoder':
    case 'decoder-merged':
      return [layout.model];
    case 'fused':
      // textgen's own folders (convert, train): both graphs of the weights, so the quantized variant
      // keeps the zero-copy path; each file alone is a usable layout.
      return layout.compatible ? [layout.compatible, layout.model] : [layout.model];
    case 'decoder-split':
      // decoder_model alone is a usable (no-cache) layout: it must appear last.
      return [layout.decoderWithPast, layout.decoder];
    case 'encoder-decoder':
      return [layout.decoderMerged, layout.decoder, layout.decoderWithPast, layout.encoder].filter(
        (f): f is string => Boolean(f),
      );
    default:
      throw new ModelError(
        'textgen quantize does not rewrite onnxruntime-genai folders.',
        'Quantize the Hugging Face ONNX export of the model instead.',
      );
  }
}

/** The file a decode step runs in. */
function decodingFile(layout: OnnxLayout): string {
  if (layout.kind === 'encoder-decoder')
    return layout.decoderMerged ?? layout.decoderWithPast ?? layout.decoder!;
  // The step check feeds a growing cache: the compatible file of a fused folder takes one.
  if (layout.kind === 'fused') return layout.compatible ?? layout.model;
  return layout.kind === 'decoder-split' ? layout.decoderWithPast : layout.model;
}

function targetOf(source: string, dtype: QuantDtype): string {
  return join(
    dirname(source),
    basename(source).replace(/\.onnx$/, `${DTYPE_SUFFIXES[dtype]}.onnx`),
  );
}

function checkTargets(folder: ModelFolder, targets: string[], request: QuantizeRequest): void {
  const ours = readReport(folder.dir)?.variants[request.dtype];
  const existing = targets.filter((t) => existsSync(t));
  if (existing.length && !ours && !request.force)
    throw new UsageError(
      `${relative(folder.dir, existing[0])} already exists and textgen did not write it.`,
      'Pass --force to replace it.',
    );
  for (const dir of new Set(targets.map((t) => dirname(t)))) {
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new ModelError(
        `Cannot write to ${dir} (read-only).`,
        'Copy the model folder somewhere writable and quantize the copy.',
      );
    }
  }
}

function prepareAll(
  folder: ModelFolder,
  sources: string[],
  request: QuantizeRequest,
): PreparedFile[] {
  const options = {
    dtype: request.dtype,
    blockSize: request.blockSize ?? 32,
    head: request.head ?? 'q8',
    vocabSize: folder.vocabSize || undefined,
  } as const;
  const metadata = JSON.stringify({
    dtype: options.dtype,
    block_size: options.blockSize,
    head: options.head,
  });
  const prepared: PreparedFile[] = [];
  try {
    for (const s of sources) prepared.push(prepareFile(s, options, metadata));
  } catch (error) {
    for (const p of prepared) p.close();
    throw error;
  }
  if (prepared.every((p) => p.linearRewrites === 0)) {
    for (const p of prepared) p.close();
    throw new ModelError(
      `${folder.dir} has no weights to quantize: no MatMul or Gemm reads a constant 2-D fp32 weight${options.head === 'fp32' ? ' outside the head' : ''}.`,
      'textgen quantize rewrites fp32 linear layers; fp16 exports and graphs with computed weights are not supported.',
    );
  }
  return prepared;
}

/** Quantizes the folder's fp32 variant into `request.dtype`, yielding progress. */
export async function* quantizeModel(request: QuantizeRequest): AsyncGenerator<QuantizeEvent> {
  const folder = inspectModelFolder(request.dir);
  const layout = folder.layouts.fp32;
  if (!layout)
    throw new ModelError(
      `${folder.dir} has no fp32 ONNX files to quantize (it has: ${folder.dtypes.join(', ')}).`,
      'textgen quantize starts from the fp32 export (onnx/model.onnx).',
    );
  const sources = layoutFiles(layout);
  const targets = sources.map((s) => targetOf(s, request.dtype));
  checkTargets(folder, targets, request);
  const prepared = prepareAll(folder, sources, request);
  const rel = (p: string) => relative(folder.dir, p);
  const temps = targets.map((t) => join(dirname(t), `.${basename(t)}.${process.pid}.tmp`));
  yield {
    type: 'start',
    dtype: request.dtype,
    files: sources.map((s, i) => ({ source: rel(s), target: rel(targets[i]) })),
  };
  try {
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i];
      for await (const written of writePrepared(p, temps[i])) {
        if (request.signal?.aborted) throw new AbortedError();
        yield { type: 'progress', file: rel(targets[i]), written, total: p.bytesAfter };
      }
      yield {
        type: 'written',
        file: rel(targets[i]),
        bytesBefore: p.bytesBefore,
        bytesAfter: p.bytesAfter,
        rewrites: p.rewrites,
      };
    }
    temps.forEach((t, i) => renameSync(t, targets[i]));
  } catch (error) {
    for (const t of temps) rmSync(t, { force: true });
    throw writeError(error, folder.dir);
  } finally {
    for (const p of prepared) p.close();
  }
  const head = request.head ?? 'q8';
  const record: VariantRecord = {
    dtype: request.dtype,
    created: new Date().toISOString(),
    blockSize: request.blockSize ?? 32,
    head,
    files: prepared.map((p, i) => ({
      source: rel(p.source),
      file: rel(targets[i]),
      bytesBefore: p.bytesBefore,
      bytesAfter: p.bytesAfter,
      rewrites: p.rewrites,
      weights: p.weights,
      skipped: p.skipped,
    })),
  };
  let reportPath = recordVariant(folder.dir, record);
  if (request.check !== false) {
    yield { type: 'checking', file: rel(decodingFile(layout)) };
    const checkEvents: QuantizeEvent[] = [];
    record.check = await checkVariant(folder, layout, sources, targets, (e) => checkEvents.push(e));
    yield* checkEvents;
    reportPath = recordVariant(folder.dir, record);
  }
  yield { type: 'done', record, reportPath };
}

async function checkVariant(
  folder: ModelFolder,
  layout: OnnxLayout,
  sources: string[],
  targets: string[],
  emit: (e: QuantizeEvent) => void,
): Promise<CheckRecord> {
  const diff: string[] = [];
  for (let i = 0; i < sources.length; i++) {
    const d = signatureDiff(await ioSignature(sources[i]), await ioSignature(targets[i]));
    diff.push(...d.map((line) => `${basename(targets[i])}: ${line}`));
  }
  if (diff.length)
    emit({
      type: 'warning',
      message: `the variant's inputs/outputs differ from the source's: ${diff[0]}`,
    });
  const source = decodingFile(layout);
  const variant = targets[sources.indexOf(source)];
  const context = Math.max(1, Math.min(128, folder.contextLength - 1));
  const [sourceMs, variantMs] = await timeSteps([source, variant], {
    step: { past: context, fresh: 1 },
    repeats: 5,
  });
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  if (median(variantMs) >= median(sourceMs))
    emit({
      type: 'warning',
      message: `one decode step takes ${median(variantMs).toFixed(2)} ms on the variant and ${median(sourceMs).toFixed(2)} ms on the source: the variant is not faster here.`,
    });
  return {
    signatureDiff: diff,
    timed: { file: relative(folder.dir, variant), context, sourceMs, variantMs },
  };
}
