/**
 * Runtime facts for `textgen doctor`: the ONNX Runtime build, each execution provider tried on a tiny
 * in-memory model (WebGPU in child processes), the GPUs nvidia-smi reports, where the CUDA libraries
 * and the Vulkan pieces are, and the CPU. Lives in
 * runtime/ because only this folder may import onnxruntime-node.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  CUDA_LIBRARIES,
  findGpu,
  findOnPath,
  locateLibrary,
  machineLoaderCache,
  PROVIDER_FILES,
  type LibraryLocation,
} from './device.js';
import { cudaState, defaultThreads, ort, ortBinaryDir, webgpuBundled, webgpuState } from './ort.js';
import { PROBE_EXPECTED, PROBE_INPUT, probeModelBytes } from './probe-model.js';
import type { GpuNode, VulkanDriver } from './webgpu-device.js';
import { probeAdapter, type AdapterProbe } from './webgpu-probe.js';

/** The outcome of opening and running the probe model on one provider. */
export interface ProviderProbe {
  name: 'cpu' | 'cuda' | 'webgpu';
  tried: boolean;
  ok: boolean;
  /** Session creation plus one run, in milliseconds. */
  ms?: number;
  /** 'ok', the error's first line, or why it was not tried. */
  detail: string;
}

/** One GPU as nvidia-smi lists it. */
export interface GpuInfo {
  name: string;
  memory: string;
  driver: string;
}

/** Everything doctor shows about the runtime. */
export interface RuntimeProbe {
  onnxruntime: {
    version: string;
    bindingDir: string;
    /** Providers compiled into the binding (their libraries may still be absent). */
    backends: { name: string; bundled: boolean }[];
    providerLibraries: Record<string, boolean>;
  };
  providers: ProviderProbe[];
  gpu: { found: boolean; evidence?: string; gpus: GpuInfo[]; nvidiaSmi?: string; error?: string };
  cuda: { ready: boolean; reason?: string; hint?: string; libraries: LibraryLocation[] };
  webgpu: WebgpuProbe;
  cpu: { model: string; cores: number; threadsSmallModel: number; threadsLargeModel: number };
}

/** What doctor shows about WebGPU: the Vulkan pieces, and the adapters Dawn gave two probes. */
export interface WebgpuProbe {
  bundled: boolean;
  backend: 'vulkan' | 'metal' | 'd3d12' | 'none';
  loader?: string;
  drivers: VulkanDriver[];
  gpuNodes: GpuNode[];
  /** Any adapter, software included (what `--device webgpu` gets). */
  adapter: AdapterProbe & { tried: boolean };
  /** An adapter from the hardware drivers alone (what `--device auto` requires). */
  hardware: AdapterProbe & { tried: boolean };
  /** Why there is no hardware adapter. */
  reason?: string;
  hint?: string;
}

/** Runs the two WebGPU adapter probes (child processes, so Dawn's stderr stays in them). */
export async function probeWebgpu(env: NodeJS.ProcessEnv): Promise<WebgpuProbe> {
  const files = webgpuState();
  const skipped = (detail: string) => ({ tried: false, ok: false, ms: 0, detail });
  const base = {
    bundled: webgpuBundled(),
    backend: files.backend,
    loader: files.loader,
    drivers: files.drivers,
    gpuNodes: files.gpuNodes,
  };
  if (!base.bundled || (files.backend === 'vulkan' && !files.loader)) {
    const why = base.bundled
      ? `not tried: ${files.reason}`
      : 'not tried: this onnxruntime-node build has no WebGPU provider';
    return { ...base, adapter: skipped(why), hardware: skipped(why), ...reasonOf(files, why) };
  }
  const adapter = { tried: true, ...(await probeAdapter({ env })) };
  if (!files.hardwareCandidate)
    return {
      ...base,
      adapter,
      hardware: skipped(`not tried: ${files.reason}`),
      ...reasonOf(files),
    };
  const drivers = files.backend === 'vulkan' ? files.drivers.filter((d) => !d.software) : undefined;
  const hardware = { tried: true, ...(await probeAdapter({ env, drivers })) };
  return {
    ...base,
    adapter,
    hardware,
    ...(hardware.ok ? {} : { reason: hardware.detail, hint: files.hint }),
  };
}

function reasonOf(files: { reason?: string; hint?: string }, fallback?: string) {
  return { reason: files.reason ?? fallback, hint: files.hint };
}

/** Opens the probe model on one provider and checks the product; never throws. */
async function tryProvider(name: 'cpu' | 'cuda', deviceId: number): Promise<ProviderProbe> {
  const started = performance.now();
  let session: ort.InferenceSession | undefined;
  try {
    const provider = name === 'cpu' ? 'cpu' : { name: 'cuda', deviceId };
    session = await ort.InferenceSession.create(probeModelBytes(), {
      executionProviders: [provider],
      logSeverityLevel: 3,
      intraOpNumThreads: 1,
    });
    const out = await session.run({ x: new ort.Tensor('float32', PROBE_INPUT, [2, 2]) });
    const got = Array.from(out.y.data as Float32Array);
    const ms = Math.round(performance.now() - started);
    if (got.join() !== PROBE_EXPECTED.join())
      return { name, tried: true, ok: false, ms, detail: `wrong result ${got.join(',')}` };
    return { name, tried: true, ok: true, ms, detail: 'ok' };
  } catch (error) {
    return {
      name,
      tried: true,
      ok: false,
      ms: Math.round(performance.now() - started),
      detail: (error as Error).message.split('\n')[0],
    };
  } finally {
    await session?.release().catch(() => undefined);
  }
}

/** Asks nvidia-smi (when on PATH) for each GPU's name, memory and driver. */
async function listGpus(smi: string | undefined): Promise<{ gpus: GpuInfo[]; error?: string }> {
  if (!smi) return { gpus: [] };
  const result = await execa(
    smi,
    ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'],
    { reject: false, timeout: 10_000, stdin: 'ignore' },
  );
  if (result.exitCode !== 0) {
    const why = String(result.stderr || result.stdout || result.shortMessage).split('\n')[0];
    return { gpus: [], error: `nvidia-smi failed: ${why}` };
  }
  const gpus = String(result.stdout)
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const [name = '', memory = '', driver = ''] = line.split(',').map((s) => s.trim());
      return { name, memory, driver };
    });
  return { gpus };
}

/** Probes the runtime; `tryCuda` false skips the CUDA session even when the provider is installed. */
export async function probeRuntime(
  options: { env?: NodeJS.ProcessEnv; deviceId?: number; tryCuda?: boolean } = {},
): Promise<RuntimeProbe> {
  const env = options.env ?? process.env;
  const bindingDir = ortBinaryDir();
  const providerLibraries = Object.fromEntries(
    [...PROVIDER_FILES, 'libonnxruntime_providers_tensorrt.so'].map((f) => [
      f,
      existsSync(join(bindingDir, f)),
    ]),
  );
  const state = cudaState();
  const presence = findGpu(env);
  const smi = findOnPath('nvidia-smi', env);
  const listed = await listGpus(smi);
  const loaderCache = machineLoaderCache();
  const libraries = CUDA_LIBRARIES.map((lib) =>
    locateLibrary(lib, { providerDir: bindingDir, env }, loaderCache),
  );
  const providers = [await tryProvider('cpu', 0)];
  const installed = providerLibraries['libonnxruntime_providers_cuda.so'];
  if (installed && options.tryCuda !== false)
    providers.push(await tryProvider('cuda', options.deviceId ?? 0));
  else
    providers.push({
      name: 'cuda',
      tried: false,
      ok: false,
      detail: installed
        ? 'not tried (skipped)'
        : 'not tried: the CUDA provider library is not installed',
    });
  const webgpu = await probeWebgpu(env);
  providers.push({
    name: 'webgpu',
    tried: webgpu.adapter.tried,
    ok: webgpu.adapter.ok,
    ms: webgpu.adapter.tried ? webgpu.adapter.ms : undefined,
    detail: webgpu.adapter.detail,
  });
  const cores = availableParallelism();
  return {
    onnxruntime: {
      version: ort.env.versions.node ?? ort.env.versions.common ?? 'unknown',
      bindingDir,
      backends: listBackends(),
      providerLibraries,
    },
    providers,
    gpu: { found: presence.found, evidence: presence.evidence, nvidiaSmi: smi, ...listed },
    cuda: { ready: state.ready, reason: state.reason, hint: state.hint, libraries },
    webgpu,
    cpu: {
      model: cpus()[0]?.model?.trim() ?? 'unknown',
      cores,
      threadsSmallModel: defaultThreads(0, cores),
      threadsLargeModel: defaultThreads(Number.MAX_SAFE_INTEGER, cores),
    },
  };
}

function listBackends(): { name: string; bundled: boolean }[] {
  const list = (
    ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }
  ).listSupportedBackends;
  return typeof list === 'function' ? list() : [];
}
