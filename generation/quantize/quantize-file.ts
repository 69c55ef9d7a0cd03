/**
 * One ONNX file through the rewrite: index it, refuse what cannot be quantized (malformed, already
 * quantized, truncated external data), plan, and stream the result to a given path.
 */
import { basename } from 'node:path';
import { ModelError } from '../errors.js';
import { ModelEmitter, type WeightReport } from './emit.js';
import { allGraphs, indexModel, type ModelIndex } from './onnx-index.js';
import { writeMessage, type OutMessage } from './out-message.js';
import { planRewrite, QUANTIZED_OPS, type Plan, type QuantOptions } from './plan.js';
import { FileSource } from '../onnx-writer/proto-reader.js';
import { TensorData } from './tensor-data.js';

/** protobuf's limit on one serialized message; larger models need external data. */
const MAX_INLINE = 2 ** 31 - 1;

/** A planned file, ready to write. */
export interface PreparedFile {
  source: string;
  /** Bytes of the source, external data included. */
  bytesBefore: number;
  /** Bytes the written file will have. */
  bytesAfter: number;
  /** Nodes replaced. */
  rewrites: number;
  /** MatMul and Gemm nodes among them (embedding lookups alone do not make a model quantizable). */
  linearRewrites: number;
  skipped: string[];
  /** Filled in as the weights are quantized. */
  weights: WeightReport[];
  message: OutMessage;
  close(): void;
}

function openIndex(path: string): ModelIndex {
  const src = new FileSource(path);
  try {
    return indexModel(src);
  } catch (error) {
    src.close();
    if (error instanceof ModelError) throw error;
    throw new ModelError(
      `${path} is not a readable ONNX file (${(error as Error).message}).`,
      'Re-download or re-export the model.',
      error,
    );
  }
}

function refuseQuantized(index: ModelIndex, path: string): void {
  for (const g of allGraphs(index.graph))
    for (const n of g.nodes)
      if (QUANTIZED_OPS.has(n.opType))
        throw new ModelError(
          `${basename(path)} is already quantized (it has ${n.opType} nodes).`,
          'Quantize the fp32 model instead (onnx/model.onnx without a dtype suffix).',
        );
}

/** Indexes and plans `path`; throws ModelError for input the rewrite refuses. */
export function prepareFile(path: string, options: QuantOptions, metadata: string): PreparedFile {
  const index = openIndex(path);
  const data = new TensorData(index.src);
  const close = () => {
    data.close();
    index.src.close();
  };
  try {
    refuseQuantized(index, path);
    const plan: Plan = planRewrite(index.graph, options);
    let bytesBefore = index.src.size;
    const external = new Set<string>();
    for (const g of allGraphs(index.graph))
      for (const t of g.initializers) {
        // Every tensor that will be read or copied must be whole before anything is written.
        if (t.data.kind === 'external') {
          data.check(t);
          if (!external.has(t.data.path)) bytesBefore += data.location(t).src.size;
          external.add(t.data.path);
        }
      }
    for (const w of plan.weights) data.check(w.tensor);
    const emitter = new ModelEmitter(index, plan, data, {
      blockSize: options.blockSize,
      metadata,
    });
    const message = emitter.model();
    if (message.length > MAX_INLINE)
      throw new ModelError(
        `The quantized ${basename(path)} would be ${message.length} bytes, over protobuf's 2 GiB limit.`,
        'Models that large need external data output, which textgen quantize does not write yet.',
      );
    return {
      source: path,
      bytesBefore,
      bytesAfter: message.length,
      rewrites: plan.rewrites.size,
      linearRewrites: [...plan.rewrites.values()].filter((r) => r.kind !== 'gather').length,
      skipped: plan.skipped,
      weights: emitter.reports,
      message,
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}

/** Streams a prepared file to `target`, yielding bytes written. */
export async function* writePrepared(file: PreparedFile, target: string): AsyncGenerator<number> {
  yield* writeMessage(target, file.message);
}
