/**
 * Runs a conversion in a worker thread and relays its progress events. Aborting (Ctrl-C) terminates
 * the worker and removes its temporary folder, so an interrupted conversion leaves nothing behind.
 */
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../common/worker.js';
import { AbortedError, TextgenError } from '../errors.js';
import type { ConvertEvent, ConvertOptions, ConvertResult } from './convert.js';

/** Messages from the conversion worker. */
export type FromConvertWorker =
  | { type: 'event'; event: ConvertEvent }
  | { type: 'done'; result: ConvertResult }
  | { type: 'error'; message: string; name: string; exitCode?: number; hint?: string };

/** Options of {@link convertModel}: the conversion's, minus the in-process test hooks. */
export type ConvertRequest = Omit<ConvertOptions, 'onEvent' | 'freeBytes'>;

function startWorker(data: ConvertRequest): Worker {
  return startModuleWorker(import.meta.url, './convert-worker', { workerData: data });
}

/** The temporary folders a conversion into `parent` may have left when its worker was stopped. */
function removeTemporaries(parent: string, before: Set<string>): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const n of names)
    if (n.startsWith('.textgen-convert-') && !before.has(n))
      rmSync(join(parent, n), { recursive: true, force: true });
}

/** Converts a checkpoint in a worker thread; rejects with the worker's TextgenError or AbortedError. */
export function convertModel(
  request: ConvertRequest,
  options: { signal?: AbortSignal; onEvent?: (event: ConvertEvent) => void } = {},
): Promise<ConvertResult> {
  const parent = request.tempParent ?? dirname(request.output);
  let before = new Set<string>();
  try {
    before = new Set(readdirSync(parent));
  } catch {
    // the parent does not exist yet; the worker creates it
  }
  const worker = startWorker(request);
  return new Promise<ConvertResult>((resolve, reject) => {
    let settled = false;
    let aborting = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      // Terminating makes the worker exit with code 1; that exit is this abort, not a crash.
      aborting = true;
      void worker.terminate().then(() => {
        removeTemporaries(parent, before);
        finish(() => reject(new AbortedError('Interrupted; nothing was written.')));
      });
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: FromConvertWorker) => {
      if (m.type === 'event') options.onEvent?.(m.event);
      else if (m.type === 'done') finish(() => resolve(m.result));
      else
        finish(() => {
          if (m.exitCode === undefined) {
            const e = new Error(m.message);
            e.name = m.name;
            reject(e);
          } else reject(new TextgenError(m.message, { exitCode: m.exitCode, hint: m.hint }));
        });
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) => {
      if (!aborting)
        finish(() => reject(new Error(`the conversion worker exited with code ${code}`)));
    });
  });
}
