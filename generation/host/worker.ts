/**
 * The model worker: onnxruntime-node's session.run() blocks its thread, so sessions live here and the
 * main thread (UI, signals, stdout) stays responsive. Token events stream back; an abort flag in shared
 * memory is read between decode steps, because the worker's event loop is busy while it decodes.
 */
import { parentPort } from 'node:worker_threads';
import { TextgenError } from '../errors.js';
import type { GenerationEvent } from '../events.js';
import { ModelHost } from './model-host.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';

const port = parentPort!;
let host: ModelHost | undefined;

function send(message: FromWorker): void {
  port.postMessage(message);
}

function wire(error: unknown): WireError {
  if (error instanceof TextgenError)
    return { name: error.name, message: error.message, exitCode: error.exitCode, hint: error.hint };
  const e = error as Error;
  return { name: e?.name ?? 'Error', message: e?.message ?? String(error) };
}

/**
 * How long token events may wait to be posted together. One postMessage per token costs a few percent
 * of a tiny model's step; 4 ms is below what a reader of streamed text can notice. ORT yields to the
 * event loop between runs, so the timer fires on time even while decoding.
 */
const FLUSH_MS = 4;

/** Runs one generate request, posting its events in small batches. */
async function runGenerate(
  id: number,
  message: Extract<ToWorker, { type: 'generate' }>,
): Promise<void> {
  const flag = new Int32Array(message.abort);
  let pending: GenerationEvent[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length) send({ type: 'events', id, events: pending });
    pending = [];
  };
  for await (const event of host!.generate(message.request, () => Atomics.load(flag, 0) === 1)) {
    pending.push(event);
    if (!scheduled) {
      scheduled = true;
      setTimeout(flush, FLUSH_MS);
    }
  }
  flush();
}

port.on('message', async (message: ToWorker) => {
  const id = 'id' in message ? message.id : null;
  try {
    switch (message.type) {
      case 'load':
        host = await ModelHost.load(message.dir, message.options);
        if (host.batch) host.batch.onStatus = (status) => send({ type: 'batch', id: null, status });
        send({ type: 'loaded', info: host.info, batch: host.batch?.status() });
        break;
      case 'generate':
        await runGenerate(message.id, message);
        break;
      case 'tokenize':
        send({
          type: 'result',
          id: message.id,
          value: host!.tokenize(message.text, message.addSpecialTokens),
        });
        break;
      case 'score':
        send({ type: 'result', id: message.id, value: await host!.score(message.request) });
        break;
      case 'detokenize':
        send({ type: 'result', id: message.id, value: host!.detokenize(message.ids) });
        break;
      case 'dispose':
        host?.dispose();
        port.close();
        break;
    }
  } catch (error) {
    send({ type: 'error', id, error: wire(error) });
  }
});
