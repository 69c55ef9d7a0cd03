/**
 * The only module that imports onnxruntime-node. Everything else in the runtime goes through these
 * re-exports and helpers, so the binding can be swapped or instrumented in one place.
 */
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DeviceError, ModelError } from '../errors.js';

export { ort };
/** An ORT tensor. */
export type Tensor = ort.Tensor;
/** An ORT inference session. */
export type Session = ort.InferenceSession;
/** Tensor element types textgen feeds. */
export type ElementType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';

/** Where a session runs. */
export type Device = 'auto' | 'cpu' | 'cuda';

/** Options for opening an ONNX file. */
export interface SessionOptions {
  device?: Device;
  deviceId?: number;
  threads?: number;
}

/** The session plus the device it actually uses and why (for the auto fallback notice). */
export interface OpenedSession {
  session: Session;
  device: 'cpu' | 'cuda';
  notice?: string;
}

/** The folder holding onnxruntime-node's native binding and provider libraries. */
export function ortBinaryDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/** The ONNX Runtime version of the installed binding. */
export function ortVersion(): string {
  return ort.env.versions?.common ?? 'unknown';
}

/** Whether the CUDA execution provider library is installed next to the binding. */
export function cudaProviderInstalled(): boolean {
  return existsSync(join(ortBinaryDir(), 'libonnxruntime_providers_cuda.so'));
}

/** A sensible CPU intra-op thread count: tiny models run best on one thread, larger ones on up to 4. */
export function defaultThreads(modelBytes: number, cores: number): number {
  if (modelBytes < 8 * 1024 * 1024) return 1;
  return Math.max(1, Math.min(4, cores));
}

const CUDA_HINT = 'Install the CUDA provider (see README, "CUDA"), or use --device cpu.';

/** Opens an ONNX file on the requested device; `auto` falls back to CPU with a notice. */
export async function openSession(path: string, options: SessionOptions): Promise<OpenedSession> {
  const device = options.device ?? 'cpu';
  const threads = options.threads ?? 1;
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  if (device === 'cpu') return { session: await create(path, { ...base, executionProviders: ['cpu'] }), device: 'cpu' };
  const installed = cudaProviderInstalled();
  if (!installed) {
    if (device === 'cuda') throw new DeviceError('The CUDA execution provider is not installed.', CUDA_HINT);
    return { session: await create(path, { ...base, executionProviders: ['cpu'] }), device: 'cpu', notice: 'CUDA provider not installed; using CPU.' };
  }
  try {
    const cuda = { name: 'cuda', deviceId: options.deviceId ?? 0 } as const;
    return { session: await create(path, { ...base, executionProviders: [cuda] }), device: 'cuda' };
  } catch (error) {
    if (error instanceof ModelError) throw error;
    const reason = (error as Error).message.split('\n')[0];
    if (device === 'cuda') throw new DeviceError(`CUDA could not be used: ${reason}`, CUDA_HINT, error);
    return { session: await create(path, { ...base, executionProviders: ['cpu'] }), device: 'cpu', notice: `CUDA unavailable (${reason}); using CPU.` };
  }
}

async function create(path: string, options: ort.InferenceSession.SessionOptions): Promise<Session> {
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    if (/provider|cuda|cudnn|libcu/i.test(message)) throw error;
    throw new ModelError(`Could not load ${path}: ${message}`, 'The ONNX file (or its external .onnx_data weights next to it) is missing or corrupt; re-download the model.', error);
  }
}

/** Creates a tensor over existing data (no copy). */
export function tensor(type: ElementType, data: ort.Tensor.DataType, dims: readonly number[]): Tensor {
  return new ort.Tensor(type as any, data as any, dims);
}
