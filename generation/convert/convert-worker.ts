/**
 * The worker thread a conversion runs in (see run-convert.ts): converting is synchronous, CPU- and
 * disk-bound work, and running it here keeps the main thread free to react to Ctrl-C at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TextgenError } from '../errors.js';
import { convertCheckpoint, type ConvertOptions } from './convert.js';
import type { FromConvertWorker } from './run-convert.js';

const port = parentPort!;
const post = (message: FromConvertWorker) => port.postMessage(message);
try {
  const options = workerData as Omit<ConvertOptions, 'onEvent' | 'freeBytes'>;
  const result = convertCheckpoint({
    ...options,
    onEvent: (event) => post({ type: 'event', event }),
  });
  post({ type: 'done', result });
} catch (error) {
  const e = error as Error;
  post({
    type: 'error',
    message: e.message,
    name: e.name,
    exitCode: error instanceof TextgenError ? error.exitCode : undefined,
    hint: error instanceof TextgenError ? error.hint : undefined,
  });
}
