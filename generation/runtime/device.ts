/**
 * Decides, without loading CUDA, whether the CUDA execution provider can work on this machine: an
 * NVIDIA GPU (device nodes or nvidia-smi), onnxruntime-node's CUDA provider library, and the CUDA and
 * cuDNN libraries the dynamic loader will look for. Everything here is file checks plus one cached
 * `ldconfig -p`, so `--device auto` costs a few milliseconds on machines without a GPU.
 */
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** The values of --device, TEXTGEN_DEVICE and the config's `device` (README, "GPU"). */
export const DEVICES = ['auto', 'cpu', 'cuda', 'webgpu'] as const;

/** One of {@link DEVICES}. */
export type DeviceName = (typeof DEVICES)[number];

/** Whether a string names a device. */
export function isDevice(value: unknown): value is DeviceName {
  return typeof value === 'string' && (DEVICES as readonly string[]).includes(value);
}

/** The shared libraries the CUDA provider of ONNX Runtime 1.30 (CUDA 12 build) loads. */
export const CUDA_LIBRARIES = [
  { name: 'CUDA runtime', soname: 'libcudart.so.12' },
  { name: 'cuBLAS', soname: 'libcublas.so.12' },
  { name: 'cuBLASLt', soname: 'libcublasLt.so.12' },
  { name: 'cuDNN', soname: 'libcudnn.so.9' },
] as const;

/** Where CUDA toolkits install libraries without always registering them with the loader. */
const TOOLKIT_DIRS = [
  '/usr/local/cuda/lib64',
  '/usr/local/cuda-12/lib64',
  '/opt/cuda/lib64',
  '/usr/lib/wsl/lib',
];

/** The provider libraries onnxruntime-node's install script puts next to the binding. */
export const PROVIDER_FILES = [
  'libonnxruntime_providers_cuda.so',
  'libonnxruntime_providers_shared.so',
] as const;

/** The command that installs them (README, "CUDA"). */
export const PROVIDER_INSTALL_COMMAND =
  'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node';

/** Whether an NVIDIA GPU appears to be present, and what showed it. */
export interface GpuPresence {
  found: boolean;
  /** e.g. '/dev/nvidia0' or the nvidia-smi path. */
  evidence?: string;
}

/** Where one CUDA library was found, if anywhere. */
export interface LibraryLocation {
  name: string;
  soname: string;
  /** A path the dynamic loader will find. */
  path?: string;
  source?: 'LD_LIBRARY_PATH' | 'ldconfig' | 'onnxruntime';
  /** Present on disk but not on the loader's path (needs LD_LIBRARY_PATH). */
  offLoaderPath?: string;
}

/** The verdict on CUDA for this machine. */
export interface CudaReadiness {
  ready: boolean;
  gpu: GpuPresence;
  providerInstalled: boolean;
  libraries: LibraryLocation[];
  /** Why CUDA cannot be used (lower-case sentence fragment), when not ready. */
  reason?: string;
  /** What to do about it. */
  hint?: string;
}

/** What readiness is judged from; tests pass folders and loader output of their own. */
export interface ReadinessInputs {
  /** The folder holding onnxruntime-node's binding (ortBinaryDir()). */
  providerDir: string;
  env?: NodeJS.ProcessEnv;
  /** Where device nodes live (default /dev). */
  devDir?: string;
  /** soname → path, as parsed from `ldconfig -p` (default: this machine's). */
  loaderCache?: Map<string, string>;
  platform?: NodeJS.Platform;
}

/** The first executable named `command` on PATH. */
export function findOnPath(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/** Looks for /dev/nvidia<N> device nodes, then for nvidia-smi on PATH. */
export function findGpu(env: NodeJS.ProcessEnv = process.env, devDir = '/dev'): GpuPresence {
  let nodes: string[] = [];
  try {
    nodes = readdirSync(devDir)
      .filter((n) => /^nvidia\d+$/.test(n))
      .sort();
  } catch {
    // No readable /dev (unusual sandboxes): fall through to nvidia-smi.
  }
  if (nodes.length > 0) return { found: true, evidence: join(devDir, nodes[0]) };
  const smi = findOnPath('nvidia-smi', env);
  return smi ? { found: true, evidence: smi } : { found: false };
}

/** Parses `ldconfig -p` output into soname → path, keeping entries for this process's architecture. */
export function parseLdconfig(text: string, arch: string = process.arch): Map<string, string> {
  const wanted = arch === 'x64' ? 'x86-64' : arch === 'arm64' ? 'AArch64' : undefined;
  const libs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    const [, soname, flags, path] = m;
    if (wanted && !flags.includes(wanted)) continue;
    if (!libs.has(soname)) libs.set(soname, path);
  }
  return libs;
}

let machineCache: Map<string, string> | undefined;

/** This machine's loader cache (`ldconfig -p`), read once per process; empty when ldconfig is absent. */
export function machineLoaderCache(): Map<string, string> {
  if (machineCache) return machineCache;
  machineCache = new Map();
  // Non-root PATHs often lack /sbin, where ldconfig lives. spawnSync rather than execa: this runs on
  // every `--device auto` load, and execa's import alone costs more than the call.
  for (const command of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    const result = spawnSync(command, ['-p'], {
      encoding: 'utf8',
      timeout: 3000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    if (result.status === 0 && typeof result.stdout === 'string') {
      machineCache = parseLdconfig(result.stdout);
      break;
    }
  }
  return machineCache;
}

/** Finds a library the way the loader would: LD_LIBRARY_PATH, the binding's folder, then the ldconfig cache. */
export function locateLibrary(
  lib: { name: string; soname: string },
  inputs: ReadinessInputs,
  loaderCache: Map<string, string>,
): LibraryLocation {
  const env = inputs.env ?? process.env;
  for (const dir of (env.LD_LIBRARY_PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, lib.soname)))
      return { ...lib, path: join(dir, lib.soname), source: 'LD_LIBRARY_PATH' };
  }
  // The provider's RUNPATH is $ORIGIN, so libraries copied next to the binding load too.
  if (existsSync(join(inputs.providerDir, lib.soname)))
    return { ...lib, path: join(inputs.providerDir, lib.soname), source: 'onnxruntime' };
  const cached = loaderCache.get(lib.soname);
  if (cached) return { ...lib, path: cached, source: 'ldconfig' };
  const off = TOOLKIT_DIRS.map((d) => join(d, lib.soname)).find((p) => existsSync(p));
  return off ? { ...lib, offLoaderPath: off } : { ...lib };
}

/** Judges whether CUDA can be used: GPU first (cheapest and most often missing), then provider, then libraries. */
export function cudaReadiness(inputs: ReadinessInputs): CudaReadiness {
  const env = inputs.env ?? process.env;
  const platform = inputs.platform ?? process.platform;
  const gpu = findGpu(env, inputs.devDir);
  const providerInstalled = PROVIDER_FILES.every((f) => existsSync(join(inputs.providerDir, f)));
  const base = { gpu, providerInstalled, libraries: [] as LibraryLocation[] };
  if (platform !== 'linux') {
    return {
      ...base,
      ready: false,
      reason: `textgen supports the CUDA provider on Linux only (this is ${platform})`,
      hint: 'Use --device cpu.',
    };
  }
  if (!gpu.found) {
    return {
      ...base,
      ready: false,
      reason: 'no NVIDIA GPU found (no /dev/nvidia* device, no nvidia-smi on PATH)',
      hint: 'Use --device cpu, or install the NVIDIA driver on a machine with an NVIDIA GPU.',
    };
  }
  const libraries = CUDA_LIBRARIES.map((lib) =>
    locateLibrary(lib, inputs, inputs.loaderCache ?? machineLoaderCache()),
  );
  if (!providerInstalled) {
    return {
      ...base,
      libraries,
      ready: false,
      reason: "onnxruntime-node's CUDA execution provider is not installed",
      hint: `Run \`${PROVIDER_INSTALL_COMMAND}\` (README, "CUDA"), or use --device cpu.`,
    };
  }
  const missing = libraries.filter((l) => !l.path);
  if (missing.length > 0) {
    const names = missing.map((l) => `${l.soname} (${l.name})`).join(', ');
    const dirs = [
      ...new Set(
        missing.flatMap((l) =>
          l.offLoaderPath ? [l.offLoaderPath.slice(0, l.offLoaderPath.lastIndexOf('/'))] : [],
        ),
      ),
    ];
    const hint =
      dirs.length > 0
        ? `Add ${dirs.join(':')} to LD_LIBRARY_PATH, or use --device cpu.`
        : 'Install the CUDA 12 runtime and cuDNN 9 (README, "CUDA"), or use --device cpu.';
    return {
      ...base,
      libraries,
      ready: false,
      reason: `${names} not found on the library path`,
      hint,
    };
  }
  return { ...base, libraries, ready: true };
}
