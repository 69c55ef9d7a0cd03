/**
 * `textgen doctor`: what the runtime can do on this machine — ONNX Runtime build, each execution
 * provider tried on a tiny model, GPUs, CUDA/cuDNN libraries, WebGPU (Vulkan loader, drivers, adapter
 * obtained or why not), CPU and default threads, and the paths
 * textgen reads and writes. `--json` prints the same facts as one object on stdout.
 */
import { jsonOutput } from '../common/json-output.js';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ExitCode } from '../generation/errors.js';
import type { RuntimeProbe } from '../generation/runtime/probe.js';
import { hubCacheDir } from '../models-cache/paths.js';
import { packageRoot } from '../models-cache/resolve.js';
import type { Command, CommandContext } from './command.js';
import { intFlag } from './model-options.js';
import { readUserConfig, userConfigPath } from './user-config.js';

/** What doctor reports: the runtime probe plus textgen's own facts. */
export interface DoctorReport extends RuntimeProbe {
  textgen: { version: string; node: string; platform: string };
  paths: { config: string; configError?: string; hubCache: string };
  /** The device `--device auto` would pick now. */
  autoDevice: 'cpu' | 'cuda' | 'webgpu';
}

function packageVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version ?? 'unknown'
    );
  } catch {
    return 'unknown';
  }
}

/** The config path, and why the file cannot be read when it cannot (doctor is where that error's hint points). */
function configPath(env: NodeJS.ProcessEnv): { config: string; configError?: string } {
  const config = userConfigPath(env);
  try {
    readUserConfig(env);
    return { config };
  } catch (error) {
    return { config, configError: (error as Error).message };
  }
}

/** Gathers the report (the probe is imported lazily: it loads the native binding). */
export async function collectReport(ctx: CommandContext): Promise<DoctorReport> {
  const { probeRuntime } = await import('../generation/runtime/probe.js');
  const probe = await probeRuntime({ env: ctx.env, deviceId: intFlag(ctx.values, 'device-id') });
  const cudaOk = probe.cuda.ready && probe.providers.some((p) => p.name === 'cuda' && p.ok);
  const webgpuOk = probe.webgpu.hardware.ok;
  return {
    textgen: {
      version: packageVersion(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    ...probe,
    paths: { ...configPath(ctx.env), hubCache: hubCacheDir(ctx.env) },
    autoDevice: cudaOk ? 'cuda' : webgpuOk ? 'webgpu' : 'cpu',
  };
}

/** The human-readable report. */
export function formatReport(r: DoctorReport): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(20)}${value}`);
  row('textgen', `${r.textgen.version} (node ${r.textgen.node}, ${r.textgen.platform})`);
  row('ONNX Runtime', `${r.onnxruntime.version} (${r.onnxruntime.bindingDir})`);
  row(
    '  backends',
    r.onnxruntime.backends
      .map((b) => `${b.name}${b.bundled ? '' : ' (separate download)'}`)
      .join(', ') || 'unknown',
  );
  row(
    '  provider libs',
    Object.entries(r.onnxruntime.providerLibraries)
      .map(
        ([f, ok]) =>
          `${f.replace(/^libonnxruntime_providers_|\.so$/g, '')} ${ok ? 'installed' : 'missing'}`,
      )
      .join(', '),
  );
  lines.push('Providers');
  for (const p of r.providers)
    row(
      `  ${p.name}`,
      p.ok ? `ok (session + run ${p.ms} ms)` : p.tried ? `failed: ${p.detail}` : p.detail,
    );
  row(
    'GPU',
    r.gpu.gpus.length > 0
      ? r.gpu.gpus.map((g, i) => `#${i} ${g.name}, ${g.memory}, driver ${g.driver}`).join('; ')
      : r.gpu.found
        ? `present (${r.gpu.evidence})${r.gpu.error ? `; ${r.gpu.error}` : ''}`
        : 'none found (no /dev/nvidia*, no nvidia-smi)',
  );
  lines.push('CUDA libraries');
  for (const lib of r.cuda.libraries) {
    const where = lib.path
      ? `${lib.path} (${lib.source})`
      : lib.offLoaderPath
        ? `not on the loader path (found ${lib.offLoaderPath})`
        : 'not found';
    row(`  ${lib.soname}`, where);
  }
  row('CUDA', r.cuda.ready ? 'usable' : `not usable: ${r.cuda.reason}`);
  if (!r.cuda.ready && r.cuda.hint) row('', `hint: ${r.cuda.hint}`);
  formatWebgpu(r.webgpu, row, lines);
  row('--device auto', `would use ${r.autoDevice}`);
  row('CPU', `${r.cpu.model}, ${r.cpu.cores} cores available`);
  row(
    '  threads',
    `default ${r.cpu.threadsSmallModel} for models under 8 MiB, ${r.cpu.threadsLargeModel} for larger ones (--threads N)`,
  );
  lines.push('Paths');
  row(
    '  config',
    r.paths.configError ? `${r.paths.config} (unreadable: ${r.paths.configError})` : r.paths.config,
  );
  row('  hub cache', r.paths.hubCache);
  return `${lines.join('\n')}\n`;
}

/** The WebGPU section: Vulkan loader, drivers, GPU devices, and what the two adapter probes got. */
function formatWebgpu(
  w: DoctorReport['webgpu'],
  row: (label: string, value: string) => void,
  lines: string[],
): void {
  lines.push(`WebGPU (${w.backend === 'none' ? 'not in this build' : w.backend})`);
  if (w.backend === 'vulkan') {
    row('  Vulkan loader', w.loader ?? 'not found (libvulkan.so.1)');
    row(
      '  Vulkan drivers',
      w.drivers.length
        ? w.drivers
            .map((d) => `${basename(d.library)}${d.software ? ' (software)' : ''}`)
            .join(', ')
        : 'none found',
    );
    row(
      '  GPU devices',
      w.gpuNodes.length
        ? w.gpuNodes.map((n) => `${n.path}${n.vendor ? ` (${n.vendor})` : ''}`).join(', ')
        : 'none (no /dev/dri/renderD*, no /dev/nvidia*)',
    );
  }
  const probe = (p: DoctorReport['webgpu']['adapter']) =>
    p.ok ? `obtained (probe ${p.ms} ms)` : p.tried ? `none: ${p.detail}` : p.detail;
  row('  adapter', probe(w.adapter));
  row('  hardware adapter', probe(w.hardware));
  if (!w.hardware.ok && w.hint) row('', `hint: ${w.hint}`);
}

/** The doctor command. */
export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Show the runtime, execution providers and paths.',
  usage: 'textgen doctor [--json] [--device-id N]',
  allowPositionals: false,
  options: {
    json: { type: 'boolean', description: 'Print the report as one JSON object on stdout.' },
    'device-id': {
      type: 'string',
      valueName: 'N',
      description: 'The CUDA device to try (default 0).',
    },
  },
  async run(ctx) {
    const report = await collectReport(ctx);
    ctx.stdout.write(ctx.values.json ? jsonOutput(report, { indent: 2 }) : formatReport(report));
    // A CPU provider that cannot run a MatMul means nothing will work: say so in the exit code too.
    return report.providers.find((p) => p.name === 'cpu')?.ok ? ExitCode.ok : ExitCode.device;
  },
};
