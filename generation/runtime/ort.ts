/**
 * The only module that imports onnxruntime-node. Everything else in the runtime goes through these
 * re-exports and helpers, so the binding can be swapped or instrumented in one place.
 */
import * as ort from 'onnxruntime-node';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DeviceError, ModelError } from '../errors.js';
import { cudaReadiness, machineLoaderCache, type CudaReadiness } from './device.js';
import { onnxOutputNames } from './onnx-outputs.js';
import { webgpuReadiness, type WebgpuReadiness } from './webgpu-device.js';
import { conciseError, probeAdapter } from './webgpu-probe.js';
import { prepareOrtProcess } from './ort-process.js';

// Sessions opened on this thread (in-process hosts, doctor's probe) start with telemetry off too.
prepareOrtProcess();

export { ort };
/** An ORT tensor. */
export type Tensor = ort.Tensor;
/** An ORT inference session. */
export type Session = ort.InferenceSession;
/** Tensor element types textgen feeds. */
export type ElementType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';

/** Where a session runs: `auto` is resolved to one of the others when the model is opened. */
export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
/** A device a session actually runs on. */
export type ConcreteDevice = Exclude<Device, 'auto'>;

/** The auto verdict on WebGPU: whether a hardware adapter answered, and why not. */
export interface WebgpuVerdict {
  hardware: boolean;
  reason?: string;
}

/** Options for opening an ONNX file. */
export interface SessionOptions {
  device?: Device;
  deviceId?: number;
  threads?: number;
  /** On WebGPU, outputs whose names match stay on the GPU (`gpu-buffer`): the present KV tensors. */
  keepOnGpu?: RegExp;
  /** Let ONNX Runtime's and Dawn's own log lines through (--verbose). */
  verbose?: boolean;
  /** The WebGPU auto verdict when already known (the main thread computes it before the worker). */
  webgpu?: WebgpuVerdict;
}

/** The session plus the device it actually uses and why (for the auto fallback notice). */
export interface OpenedSession {
  session: Session;
  device: ConcreteDevice;
  notice?: string;
  /** Outputs the session leaves on the GPU. */
  gpuOutputs: string[];
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

/** Whether this build of the binding carries the WebGPU provider (linux x64, darwin arm64, win32 x64). */
export function webgpuBundled(): boolean {
  return ort.listSupportedBackends().some((b) => b.name === 'webgpu' && b.bundled);
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

let webgpuFiles: WebgpuReadiness | undefined;

/** Whether a hardware WebGPU adapter may exist here (file checks only; computed once per thread). */
export function webgpuState(): WebgpuReadiness {
  webgpuFiles ??= webgpuReadiness({ loaderCache: machineLoaderCache() });
  return webgpuFiles;
}

let verdict: Promise<WebgpuVerdict> | undefined;

/**
 * Whether `auto` may use WebGPU: a hardware adapter must answer a probe that sees only the hardware
 * Vulkan drivers (webgpu-probe.ts). File checks rule most machines out in milliseconds; the probe
 * (a child process, about a second) runs only where a GPU device and a hardware driver exist.
 */
export function webgpuVerdict(): Promise<WebgpuVerdict> {
  verdict ??= (async (): Promise<WebgpuVerdict> => {
    if (!webgpuBundled())
      return { hardware: false, reason: 'this onnxruntime-node build has no WebGPU provider' };
    const files = webgpuState();
    if (!files.hardwareCandidate)
      return { hardware: false, reason: `no hardware WebGPU adapter: ${files.reason}` };
    const drivers =
      files.backend === 'vulkan' ? files.drivers.filter((d) => !d.software) : undefined;
    const probe = await probeAdapter({ drivers });
    return probe.ok
      ? { hardware: true }
      : { hardware: false, reason: `no hardware WebGPU adapter: ${probe.detail}` };
  })();
  return verdict;
}

/** The device a request will get, before any session exists (picks the dtype order). */
export async function expectedDevice(
  device: Device | undefined,
  known?: WebgpuVerdict,
): Promise<ConcreteDevice> {
  if (device !== 'auto') return device ?? 'cpu';
  if (cudaState().ready) return 'cuda';
  return (known ?? (await webgpuVerdict())).hardware ? 'webgpu' : 'cpu';
}

const CUDA_FAILED_HINT =
  'Run `textgen doctor` to see what is missing (CUDA 12 runtime, cuDNN 9, a driver for CUDA 12; README, "CUDA"), or use --device cpu.';
const WEBGPU_FAILED_HINT =
  'Run `textgen doctor` to see what is missing (a Vulkan loader and driver; README, "GPU"), or use --device cpu.';

/**
 * Opens an ONNX file on the requested device. `auto` tries CUDA when its libraries are present, then
 * WebGPU when a hardware adapter answers, else the CPU with a one-line notice saying why; `cuda` and
 * `webgpu` fail with a DeviceError instead.
 */
export async function openSession(path: string, options: SessionOptions): Promise<OpenedSession> {
  const device = options.device ?? 'cpu';
  const base = baseOptions(options);
  if (device === 'cpu') return onCpu(path, base);
  if (device === 'cuda' || device === 'webgpu') {
    const state = device === 'cuda' ? cudaState() : webgpuPrecheck();
    if (!state.ready)
      throw new DeviceError(`${LABEL[device]} cannot be used: ${state.reason}.`, state.hint);
    const opened = await tryDevice(path, base, device, options);
    if ('session' in opened) return opened;
    await opened.cpu.session.release();
    throw new DeviceError(
      `${LABEL[device]} could not be used: ${opened.reason}`,
      device === 'cuda' ? CUDA_FAILED_HINT : WEBGPU_FAILED_HINT,
      opened.error,
    );
  }
  const why: string[] = [];
  let cpu: OpenedSession | undefined;
  const cuda = cudaState();
  if (cuda.ready) {
    const opened = await tryDevice(path, base, 'cuda', options);
    if ('session' in opened) return opened;
    why.push(`CUDA failed (${opened.reason})`);
    cpu = opened.cpu;
  } else why.push(cuda.reason!);
  const gpu = options.webgpu ?? (await webgpuVerdict());
  if (gpu.hardware) {
    await cpu?.session.release();
    const opened = await tryDevice(path, base, 'webgpu', options);
    if ('session' in opened) return opened;
    why.push(`WebGPU failed (${opened.reason})`);
    cpu = opened.cpu;
  } else why.push(gpu.reason!);
  const notice = `device auto: ${why.join('; ')}; running on CPU.`;
  return cpu ? { ...cpu, notice } : onCpu(path, base, notice);
}

const LABEL = { cuda: 'CUDA', webgpu: 'WebGPU' } as const;

/** Whether an explicit `--device webgpu` can start (a Vulkan loader on Linux; software drivers count). */
function webgpuPrecheck(): { ready: boolean; reason?: string; hint?: string } {
  if (!webgpuBundled())
    return {
      ready: false,
      reason: `onnxruntime-node has no WebGPU provider on ${process.platform} ${process.arch}`,
      hint: 'Use --device cpu.',
    };
  const files = webgpuState();
  if (files.backend === 'vulkan' && !files.loader)
    return { ready: false, reason: files.reason, hint: files.hint };
  return { ready: true };
}

function baseOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  const verbose = options.verbose || Boolean(process.env.TEXTGEN_DEBUG);
  // ORT's process-wide logger (which also carries Dawn's messages) takes its level from the first
  // session of each thread; session loggers from logSeverityLevel.
  ort.env.logLevel = verbose ? 'warning' : 'fatal';
  return {
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // ORT's own log lines (warnings, and errors textgen reports itself) would break the one-line stderr
    // contract; --verbose and TEXTGEN_DEBUG show them.
    logSeverityLevel: verbose ? 2 : 4,
  };
}

async function onCpu(
  path: string,
  base: ort.InferenceSession.SessionOptions,
  notice?: string,
): Promise<OpenedSession> {
  const session = await create(path, { ...base, executionProviders: ['cpu'] });
  return { session, device: 'cpu', notice, gpuOutputs: [] };
}

/**
 * Opens the file on CUDA or WebGPU. On failure the file is opened on the CPU: that tells a broken model
 * (a ModelError from create, thrown) from a device problem (returned with the CPU session).
 */
async function tryDevice(
  path: string,
  base: ort.InferenceSession.SessionOptions,
  device: 'cuda' | 'webgpu',
  options: SessionOptions,
): Promise<OpenedSession | { reason: string; error: unknown; cpu: OpenedSession }> {
  const gpuOutputs =
    device === 'webgpu' && options.keepOnGpu
      ? onnxOutputNames(path).filter((n) => options.keepOnGpu!.test(n))
      : [];
  try {
    const provider =
      device === 'cuda' ? { name: 'cuda', deviceId: options.deviceId ?? 0 } : { name: 'webgpu' };
    const session = await ort.InferenceSession.create(path, {
      ...base,
      executionProviders: [provider],
      ...(gpuOutputs.length
        ? { preferredOutputLocation: Object.fromEntries(gpuOutputs.map((n) => [n, 'gpu-buffer'])) }
        : {}),
    });
    return { session: guardRuns(session, device), device, gpuOutputs };
  } catch (error) {
    const reason = conciseError((error as Error).message);
    return { reason, error, cpu: await onCpu(path, base) };
  }
}

/**
 * Opens an in-memory helper model (gpu-kv-ops.ts) on the WebGPU device with output `y` left on it.
 */
export async function openGpuHelper(model: Uint8Array, verbose = false): Promise<Session> {
  return ort.InferenceSession.create(model, {
    ...baseOptions({ verbose }),
    executionProviders: [{ name: 'webgpu' }],
    preferredOutputLocation: { y: 'gpu-buffer' },
  });
}

/**
 * Reports a device failure inside run() (a kernel or library that only loads on first use, out of
 * memory, a lost device) as a DeviceError with the same remedy, instead of an internal error.
 */
function guardRuns(session: Session, device: 'cuda' | 'webgpu'): Session {
  const run = session.run.bind(session) as (
    ...args: unknown[]
  ) => Promise<ort.InferenceSession.ReturnType>;
  const guarded = async (...args: unknown[]) => {
    try {
      return await run(...args);
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0];
      throw new DeviceError(
        `${LABEL[device]} failed while running the model: ${reason}`,
        device === 'cuda' ? CUDA_FAILED_HINT : WEBGPU_FAILED_HINT,
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
  // The binding's overloads pair each type literal with its array type; the pair is checked by callers.
  return new ort.Tensor(type as 'float32', data as Float32Array, dims);
}
