/**
 * The only module that imports onnxruntime-node. Everything else in the runtime goes through these
 * re-exports and helpers, so the binding can be swapped or instrumented in one place.
 */
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DeviceError, ModelError } from '../errors.js';
import { cudaReadiness, type CudaReadiness } from './device.js';

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

/**
 * The default CPU intra-op thread count. Models under 8 MiB run best on one thread (per-op work is too
 * small to split). Larger ones get up to 4, leaving one core free: ORT's pool spins while waiting, and
 * spinning on every core starves the main thread and anything else running (measured on 2 cores under
 * load: 2 threads decoded 2-4x slower than 1; README, "Threads").
 */
export function defaultThreads(modelBytes: number, cores: number): number {
  if (modelBytes < 8 * 1024 * 1024) return 1;
  return Math.max(1, Math.min(4, cores - 1));
}

let readiness: CudaReadiness | undefined;

/** Whether CUDA can be used here (file checks only; computed once per process). */
export function cudaState(): CudaReadiness {
  readiness ??= cudaReadiness({ providerDir: ortBinaryDir() });
  return readiness;
}

/** The device a request will most likely get, before any session exists (picks the dtype order). */
export function expectedDevice(device: Device | undefined): 'cpu' | 'cuda' {
  if (device === 'cuda') return 'cuda';
  return device === 'auto' && cudaState().ready ? 'cuda' : 'cpu';
}

const CUDA_FAILED_HINT =
  'Run `textgen doctor` to see what is missing (CUDA 12 runtime, cuDNN 9, a driver for CUDA 12; README, "CUDA"), or use --device cpu.';

/**
 * Opens an ONNX file on the requested device. `auto` checks for a GPU, the provider and the CUDA
 * libraries before touching CUDA and falls back to CPU with a notice; `cuda` fails with a DeviceError.
 */
export async function openSession(path: string, options: SessionOptions): Promise<OpenedSession> {
  const device = options.device ?? 'cpu';
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // ORT's own log lines (warnings, and errors textgen reports itself) would break the one-line stderr
    // contract; TEXTGEN_DEBUG shows them.
    logSeverityLevel: process.env.TEXTGEN_DEBUG ? 2 : 4,
  };
  const onCpu = async (notice?: string): Promise<OpenedSession> => ({
    session: await create(path, { ...base, executionProviders: ['cpu'] }),
    device: 'cpu',
    notice,
  });
  if (device === 'cpu') return onCpu();
  const state = cudaState();
  if (!state.ready) {
    if (device === 'cuda')
      throw new DeviceError(`CUDA cannot be used: ${state.reason}.`, state.hint);
    return onCpu(`device auto: ${state.reason}; running on CPU.`);
  }
  try {
    const cuda = { name: 'cuda', deviceId: options.deviceId ?? 0 } as const;
    return {
      session: guardRuns(
        await ort.InferenceSession.create(path, { ...base, executionProviders: [cuda] }),
      ),
      device: 'cuda',
    };
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    // Opening on the CPU tells a broken model (ModelError from create) from a CUDA problem.
    const fallback = await onCpu(`device auto: CUDA failed (${reason}); running on CPU.`);
    if (device === 'auto') return fallback;
    await fallback.session.release();
    throw new DeviceError(`CUDA could not be used: ${reason}`, CUDA_FAILED_HINT, error);
  }
}

/**
 * Reports a CUDA failure inside run() (a kernel or library that only loads on first use, out of
 * memory) as a DeviceError with the same remedy, instead of an internal error.
 */
function guardRuns(session: Session): Session {
  const run = session.run.bind(session) as (
    ...args: unknown[]
  ) => Promise<ort.InferenceSession.ReturnType>;
  const guarded = async (...args: unknown[]) => {
    try {
      return await run(...args);
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0];
      throw new DeviceError(
        `CUDA failed while running the model: ${reason}`,
        CUDA_FAILED_HINT,
        error,
      );
    }
  };
  Object.defineProperty(session, 'run', { value: guarded });
  return session;
}

async function create(
  path: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<Session> {
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new ModelError(
      `Could not load ${path}: ${message}`,
      'The ONNX file (or its external .onnx_data weights next to it) is missing or corrupt; re-download the model.',
      error,
    );
  }
}

/** Creates a tensor over existing data (no copy). */
export function tensor(
  type: ElementType,
  data: ort.Tensor.DataType,
  dims: readonly number[],
): Tensor {
  return new ort.Tensor(type as any, data as any, dims);
}
