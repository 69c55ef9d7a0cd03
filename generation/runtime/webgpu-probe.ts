/**
 * Asks Dawn (through onnxruntime-node's WebGPU provider) for an adapter in a child process, and keeps
 * Dawn's native stderr out of the user's terminal.
 *
 * Why a child process: neither ONNX Runtime nor its Node binding exposes the adapter's type, so the
 * hardware question is put to the Vulkan loader instead — the child sees only the hardware drivers'
 * manifests (VK_DRIVER_FILES), so it obtains an adapter only if a real GPU gives one. The loader reads
 * that variable once per process, and Dawn creates its adapter once per process, so neither a worker
 * thread nor a second session in this process could ask the question. The child's stderr (Dawn's
 * and the loader's chatter) is captured, never shown.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { PROBE_EXPECTED, probeModelBytes } from './probe-model.js';
import type { VulkanDriver } from './webgpu-device.js';

/** The outcome of one adapter probe. */
export interface AdapterProbe {
  ok: boolean;
  /** Child start, session creation and one run, in milliseconds. */
  ms: number;
  /** 'ok' or the first line of the failure. */
  detail: string;
}

/**
 * The readable part of an ONNX Runtime error: its first line without the source location and the
 * failed assertion ("/onnxruntime_src/...cc:136 ... was false. Failed to get a WebGPU adapter: ...").
 */
export function conciseError(message: string): string {
  const line = message.split('\n')[0];
  const enforced = /\bwas false\. (.+)$/.exec(line);
  if (enforced) return enforced[1];
  return line.replace(/^\/onnxruntime_src\/\S+ /, '');
}

/** The Dawn probe: open the MatMul probe model on WebGPU, run it, print the verdict as JSON. */
function probeScript(ortPath: string): string {
  const model = Buffer.from(probeModelBytes()).toString('base64');
  return `
const ort = require(${JSON.stringify(ortPath)});
const say = (v) => process.stdout.write(JSON.stringify(v));
(async () => {
  try {
    const s = await ort.InferenceSession.create(Buffer.from(${JSON.stringify(model)}, 'base64'), {
      executionProviders: ['webgpu'], logSeverityLevel: 4 });
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]) });
    say({ ok: true, got: Array.from(out.y.data) });
  } catch (e) {
    say({ ok: false, error: String((e && e.message) || e).split('\\n')[0] });
  }
})();`;
}

/**
 * Probes for a WebGPU adapter in a child process. `drivers` limits the Vulkan loader to those ICD
 * manifests (the hardware question); without it the child sees what this process would.
 */
export async function probeAdapter(
  options: { drivers?: VulkanDriver[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<AdapterProbe> {
  const started = performance.now();
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  quietEnvironment(env);
  if (options.drivers) {
    const files = options.drivers.map((d) => d.manifest).join(':');
    // VK_DRIVER_FILES is the loader's current name, VK_ICD_FILENAMES the older one; an empty list
    // would mean "search", so a drive-less probe names a file that does not exist.
    env.VK_DRIVER_FILES = files || '/nonexistent/textgen-no-driver.json';
    env.VK_ICD_FILENAMES = env.VK_DRIVER_FILES;
    delete env.VK_ADD_DRIVER_FILES;
  }
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  // Imported here: ort.ts loads this module on every model load, and only a WebGPU probe spawns.
  const { execa } = await import('execa');
  const run = await execa(process.execPath, ['-e', probeScript(ortPath)], {
    env,
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
  });
  const result = {
    stdout: String(run.stdout ?? ''),
    error: run.signal
      ? `the probe was stopped (${run.signal})`
      : run.failed && run.exitCode === undefined
        ? run.shortMessage
        : run.exitCode
          ? `exit code ${run.exitCode}`
          : undefined,
  };
  const ms = Math.round(performance.now() - started);
  let parsed: { ok?: boolean; got?: number[]; error?: string };
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    return { ok: false, ms, detail: `the probe process failed: ${result.error ?? 'no answer'}` };
  }
  if (!parsed.ok) return { ok: false, ms, detail: conciseError(parsed.error ?? 'unknown error') };
  if (parsed.got?.join() !== PROBE_EXPECTED.join())
    return { ok: false, ms, detail: `wrong result ${parsed.got?.join(',')}` };
  return { ok: true, ms, detail: 'ok' };
}

/**
 * Removes what makes native libraries print to stderr from an environment: a WAYLAND_DISPLAY that
 * cannot be reached (no XDG_RUNTIME_DIR) makes libwayland, loaded by Mesa's Vulkan drivers, print
 * "error: XDG_RUNTIME_DIR is invalid or not set" once per driver. textgen draws nothing, so the
 * display is not needed. Changing process.env changes the real environment only on the main thread
 * (a worker's process.env is a copy), so this runs there, before the model worker starts.
 */
export function quietEnvironment(env: NodeJS.ProcessEnv): void {
  const display = env.WAYLAND_DISPLAY;
  if (!display || isAbsolute(display)) return;
  const runtime = env.XDG_RUNTIME_DIR;
  let usable: boolean;
  try {
    usable = Boolean(runtime) && statSync(runtime!).isDirectory();
  } catch {
    usable = false;
  }
  if (!usable) delete env.WAYLAND_DISPLAY;
}
