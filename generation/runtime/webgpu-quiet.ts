/**
 * Keeps Dawn's native stderr out of the user's terminal. Three sources, three remedies:
 *
 * - ONNX Runtime's log lines (its own, and Dawn's messages it forwards): log severity, set in ort.ts.
 * - libwayland's "XDG_RUNTIME_DIR is invalid or not set" (loaded by Mesa's Vulkan drivers when
 *   WAYLAND_DISPLAY is set but unusable): removed from the environment before the model worker
 *   starts (webgpu-probe.ts, quietEnvironment).
 * - Dawn's own warnings, printed with fprintf(stderr) while it initialises the adapter (lavapipe, for
 *   one, gets "maxDynamicUniformBuffersPerPipelineLayout artificially reduced ..."): nothing
 *   configures them. Dawn initialises its adapters once per process, so this module does it on the
 *   main thread, synchronously, with file descriptor 2 pointed at /dev/null for that call alone, and
 *   the worker's sessions later find the adapter ready and print nothing.
 *
 * The descriptor swap uses only open/close (a closed descriptor 2 is the lowest free one, so the next
 * open takes it) and is done only where it is safe and exact: Linux, the main thread, descriptors
 * 0 and 1 open, and stderr a terminal or a pipe — both reopened identically through /proc/self/fd.
 * A regular file or socket as stderr is left alone (reopening would lose a shared offset or fail):
 * there the warnings reach the file, not a terminal.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { cudaState, ort, webgpuVerdict, type Device, type WebgpuVerdict } from './ort.js';
import { probeModelBytes } from './probe-model.js';
import { quietEnvironment } from './webgpu-probe.js';

interface RawSession {
  loadModel(buffer: ArrayBuffer, offset: number, length: number, options: object): void;
  dispose(): void;
}

/** onnxruntime-node's synchronous native session (the public create() is asynchronous). */
function rawBinding(): { binding: { InferenceSession: new () => RawSession }; initOrt(): void } {
  const require = createRequire(import.meta.url);
  return require('onnxruntime-node/dist/binding.js');
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** Whether stderr can be swapped out and restored exactly. */
function swappable(): boolean {
  if (process.platform !== 'linux' || !isMainThread) return false;
  if (!isOpen(0) || !isOpen(1)) return false;
  try {
    const stat = fstatSync(2);
    return stat.isCharacterDevice() || stat.isFIFO();
  } catch {
    return false;
  }
}

/** Runs `fn` with descriptor 2 on /dev/null; returns false (without running it) when unsafe. */
export function withStderrSilenced(fn: () => void): boolean {
  if (!swappable() || process.stderr.writableLength > 0) return false;
  let saved: number;
  try {
    saved = openSync('/proc/self/fd/2', 'a');
  } catch {
    return false;
  }
  closeSync(2);
  const nul = openSync('/dev/null', 'a');
  try {
    if (nul === 2) fn();
  } finally {
    closeSync(nul);
    // The lowest free descriptor is 2 again: reopen the same terminal or pipe there.
    const back = openSync(`/proc/self/fd/${saved}`, 'a');
    closeSync(saved);
    if (back !== 2) closeSync(back);
  }
  return nul === 2;
}

let warmed = false;

/**
 * Creates and drops one WebGPU session on this (main) thread with stderr silenced, so Dawn's adapter
 * start-up chatter happens here. Once per process; failures are left to the real session to report.
 */
export function warmUpWebgpuQuietly(): boolean {
  if (warmed) return true;
  warmed = true;
  let ok = false;
  withStderrSilenced(() => {
    try {
      const { binding, initOrt } = rawBinding();
      initOrt();
      const session = new binding.InferenceSession();
      const model = probeModelBytes();
      session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
        executionProviders: ['webgpu'],
        logSeverityLevel: 4,
      });
      session.dispose();
      ok = true;
    } catch {
      // No adapter: the model's own session will fail with the real reason.
    }
  });
  return ok;
}

/** The device options prepareDevice reads and fills in. */
export interface DeviceRequest {
  device?: Device;
  verbose?: boolean;
  webgpu?: WebgpuVerdict;
}

/**
 * Main-thread preparation before a model is opened: settles `auto`'s WebGPU question once per
 * process (the worker receives the verdict instead of probing again) and, when WebGPU will be used and
 * --verbose is off, clears the environment of what makes native code print and starts Dawn quietly.
 */
export async function prepareDevice<T extends DeviceRequest>(options: T): Promise<T> {
  const device = options.device ?? 'cpu';
  if (device !== 'webgpu' && device !== 'auto') return options;
  let webgpu = options.webgpu;
  if (device === 'auto') {
    if (cudaState().ready) return options;
    webgpu ??= await webgpuVerdict();
    if (!webgpu.hardware) return { ...options, webgpu };
  }
  if (!options.verbose && !process.env.TEXTGEN_DEBUG) {
    if (isMainThread) quietEnvironment(process.env);
    ort.env.logLevel = 'fatal';
    warmUpWebgpuQuietly();
  }
  return webgpu ? { ...options, webgpu } : options;
}
