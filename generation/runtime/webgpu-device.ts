/**
 * Decides, from files alone, whether a hardware WebGPU adapter can exist on this machine. On Linux
 * onnxruntime-node's WebGPU provider (Dawn) runs on Vulkan, so it needs the Vulkan loader
 * (libvulkan.so.1), a Vulkan driver (an ICD manifest naming the driver library) and, for a hardware
 * adapter, a GPU device node (/dev/dri/renderD*, /dev/nvidia*). Software drivers (Mesa's lavapipe,
 * SwiftShader) give a working but CPU-backed adapter: `--device auto` must never pick it. Whether a
 * hardware driver really yields an adapter is then asked of Dawn itself (webgpu-probe.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

/** One installed Vulkan driver, as its ICD manifest describes it. */
export interface VulkanDriver {
  manifest: string;
  /** The driver library the manifest names (library_path). */
  library: string;
  /** A CPU implementation (lavapipe, SwiftShader): an adapter, but no GPU. */
  software: boolean;
}

/** A GPU device node and, where sysfs tells, its PCI vendor. */
export interface GpuNode {
  path: string;
  vendor?: string;
}

/** The file-level verdict on WebGPU for this machine. */
export interface WebgpuReadiness {
  /** The graphics API Dawn uses here. */
  backend: 'vulkan' | 'metal' | 'd3d12' | 'none';
  /** Where libvulkan.so.1 was found (Linux). */
  loader?: string;
  drivers: VulkanDriver[];
  gpuNodes: GpuNode[];
  /** Whether a hardware adapter may exist (then the Dawn probe decides). */
  hardwareCandidate: boolean;
  /** Why no hardware adapter can exist (lower-case fragment), when not a candidate. */
  reason?: string;
  hint?: string;
}

/** What readiness is judged from; tests pass folders of their own. */
export interface WebgpuInputs {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Where device nodes live (default /dev). */
  devDir?: string;
  /** Where /sys/class/drm is (default /sys/class/drm). */
  drmDir?: string;
  /** The folders searched for ICD manifests (default: the Vulkan loader's search path). */
  icdDirs?: string[];
  /** soname → path from `ldconfig -p`. */
  loaderCache: Map<string, string>;
}

/** The Vulkan loader library Dawn opens. */
export const VULKAN_LOADER = 'libvulkan.so.1';

/** Driver libraries that implement Vulkan on the CPU. */
const SOFTWARE_DRIVER = /lvp|lavapipe|swiftshader|llvmpipe/i;

/** The Debian/Ubuntu packages that provide the loader and Mesa's drivers (README, "GPU"). */
export const VULKAN_INSTALL_HINT =
  'Install the Vulkan loader and your GPU vendor’s Vulkan driver (Debian/Ubuntu: `apt-get install libvulkan1 mesa-vulkan-drivers`; NVIDIA’s driver ships its own), or use --device cpu (README, "GPU").';

const PCI_VENDORS: Record<string, string> = {
  '0x10de': 'NVIDIA',
  '0x1002': 'AMD',
  '0x8086': 'Intel',
  '0x1af4': 'virtio',
  '0x15ad': 'VMware',
  '0x5143': 'Qualcomm',
  '0x13b5': 'ARM',
};

/**
 * The folders the Vulkan loader reads ICD manifests from, in its order (loader documentation,
 * "Driver discovery on Linux"); VK_DRIVER_FILES / VK_ICD_FILENAMES replace the search.
 */
export function icdSearchDirs(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME ?? homedir();
  const split = (v: string | undefined, fallback: string) =>
    (v || fallback).split(':').filter(Boolean);
  const configs = [
    env.XDG_CONFIG_HOME || join(home, '.config'),
    ...split(env.XDG_CONFIG_DIRS, '/etc/xdg'),
    '/etc',
  ];
  const data = [
    env.XDG_DATA_HOME || join(home, '.local', 'share'),
    ...split(env.XDG_DATA_DIRS, '/usr/local/share:/usr/share'),
  ];
  return [...configs, ...data].map((d) => join(d, 'vulkan', 'icd.d'));
}

/** Reads one ICD manifest; undefined when it is not one. */
export function readDriverManifest(path: string): VulkanDriver | undefined {
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as { ICD?: { library_path?: unknown } };
    const library = json.ICD?.library_path;
    if (typeof library !== 'string') return undefined;
    return {
      manifest: path,
      library,
      software: SOFTWARE_DRIVER.test(basename(library)) || SOFTWARE_DRIVER.test(basename(path)),
    };
  } catch {
    return undefined;
  }
}

/** The Vulkan drivers the loader would see: the env's explicit list, else every manifest found. */
export function listVulkanDrivers(env: NodeJS.ProcessEnv, icdDirs?: string[]): VulkanDriver[] {
  const explicit = env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES;
  const files: string[] = [];
  const addDir = (dir: string) => {
    try {
      for (const name of readdirSync(dir).sort())
        if (name.endsWith('.json')) files.push(join(dir, name));
    } catch {
      // Missing folders are the common case.
    }
  };
  if (explicit && !icdDirs) {
    for (const entry of explicit.split(':').filter(Boolean)) {
      if (isDirectory(entry)) addDir(entry);
      else files.push(entry);
    }
  } else {
    for (const dir of icdDirs ?? icdSearchDirs(env)) addDir(dir);
  }
  const seen = new Set<string>();
  return files.flatMap((f) => {
    if (seen.has(f)) return [];
    seen.add(f);
    const driver = readDriverManifest(f);
    return driver ? [driver] : [];
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** GPU device nodes: DRM render nodes (Mesa, NVIDIA open) and NVIDIA's own /dev/nvidiaN. */
export function findGpuNodes(devDir = '/dev', drmDir = '/sys/class/drm'): GpuNode[] {
  const nodes: GpuNode[] = [];
  const list = (dir: string) => {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  for (const name of list(join(devDir, 'dri')).filter((n) => /^renderD\d+$/.test(n))) {
    let vendor: string | undefined;
    try {
      const id = readFileSync(join(drmDir, name, 'device', 'vendor'), 'utf8').trim();
      vendor = PCI_VENDORS[id] ?? id;
    } catch {
      // sysfs is not always mounted (containers).
    }
    nodes.push({ path: join(devDir, 'dri', name), vendor });
  }
  for (const name of list(devDir).filter((n) => /^nvidia\d+$/.test(n)))
    nodes.push({ path: join(devDir, name), vendor: 'NVIDIA' });
  return nodes;
}

/** Where the loader would find libvulkan.so.1: LD_LIBRARY_PATH, then the ldconfig cache. */
export function findVulkanLoader(
  env: NodeJS.ProcessEnv,
  loaderCache: Map<string, string>,
): string | undefined {
  for (const dir of (env.LD_LIBRARY_PATH ?? '').split(':'))
    if (dir && existsSync(join(dir, VULKAN_LOADER))) return join(dir, VULKAN_LOADER);
  const cached = loaderCache.get(VULKAN_LOADER);
  // The ldconfig cache can outlive an uninstalled library.
  return cached && existsSync(cached) ? cached : undefined;
}

/** Judges whether a hardware WebGPU adapter may exist; the Dawn probe confirms it. */
export function webgpuReadiness(inputs: WebgpuInputs): WebgpuReadiness {
  const env = inputs.env ?? process.env;
  const platform = inputs.platform ?? process.platform;
  const arch = inputs.arch ?? process.arch;
  const none = { drivers: [], gpuNodes: [] };
  // onnxruntime-node 1.30 ships WebGPU in its linux-x64, darwin-arm64 and win32-x64 builds.
  if (platform === 'darwin' && arch === 'arm64')
    return { ...none, backend: 'metal', hardwareCandidate: true };
  if (platform === 'win32' && arch === 'x64')
    return { ...none, backend: 'd3d12', hardwareCandidate: true };
  if (platform !== 'linux' || arch !== 'x64')
    return {
      ...none,
      backend: 'none',
      hardwareCandidate: false,
      reason: `onnxruntime-node has no WebGPU provider on ${platform} ${arch}`,
      hint: 'Use --device cpu.',
    };
  const loader = findVulkanLoader(env, inputs.loaderCache);
  const drivers = listVulkanDrivers(env, inputs.icdDirs);
  const gpuNodes = findGpuNodes(inputs.devDir, inputs.drmDir);
  const base = { backend: 'vulkan' as const, loader, drivers, gpuNodes };
  const verdict = (reason: string, hint = VULKAN_INSTALL_HINT): WebgpuReadiness => ({
    ...base,
    hardwareCandidate: false,
    reason,
    hint,
  });
  if (!loader) return verdict(`no Vulkan loader (${VULKAN_LOADER}) found`);
  if (gpuNodes.length === 0)
    return verdict(
      'no GPU device (no /dev/dri/renderD*, no /dev/nvidia*)',
      'WebGPU needs a GPU; use --device cpu (--device webgpu still runs on a software Vulkan driver, slowly).',
    );
  const hardware = drivers.filter((d) => !d.software);
  if (hardware.length === 0)
    return verdict(
      drivers.length === 0
        ? 'no Vulkan driver installed'
        : `only software Vulkan drivers installed (${drivers.map((d) => basename(d.library)).join(', ')})`,
    );
  return { ...base, hardwareCandidate: true };
}
