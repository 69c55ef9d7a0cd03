/**
 * Chat templates rendered with a time and size budget, off the thread that handles signals. A chat
 * template is code from the model folder: `{% for i in range(1000000000) %}` or nested loops would
 * otherwise block the main thread (Ctrl-C and SIGTERM ignored) or abort the process with a V8 heap
 * error. Here a worker renders; the main thread waits with a deadline and an AbortSignal, and the
 * worker runs under a heap limit. A template over budget is terminated and reported as a ModelError
 * naming the template; the next render starts a fresh worker.
 */
import { Worker } from 'node:worker_threads';
import { AbortedError, InputError, ModelError, TextgenError } from '../errors.js';
import type { ChatTemplateInput } from './chat-template.js';
import type { RenderReply, RenderRequest } from './template-worker.js';

/** Limits of one render. */
export interface RenderBudget {
  /** Wall-clock milliseconds (default 3000, or TEXTGEN_TEMPLATE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Characters of output at most (default 16 Mi). */
  maxChars?: number;
  /** Aborts the render (the worker is terminated at once). */
  signal?: AbortSignal;
  /** How errors name the template, e.g. "the chat template of org/model". */
  name?: string;
}

/** The worker's heap limit: generous for any real conversation, far below the process's. */
const HEAP_MB = 256;
const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_MAX_CHARS = 16 * 1024 * 1024;

type Pending = Map<number, { resolve: (r: RenderReply) => void; reject: (e: Error) => void }>;

/** The live worker and the renders it owes (each worker has its own, so a killed one fails only its own). */
let current: { worker: Worker; pending: Pending } | undefined;
let nextId = 1;

function workerUrl(): URL {
  // Under tsx (tests) this module is a .ts file and so is its worker.
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./template-worker${ext}`, import.meta.url);
}

/** Starts the worker (unref'd: an idle renderer never keeps the process alive). */
function start(): { worker: Worker; pending: Pending } {
  const url = workerUrl();
  const options = { resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } };
  // Node 20 does not run the tsx loader in workers: a small bootstrap registers it first.
  const w = url.pathname.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`,
        { ...options, eval: true },
      )
    : new Worker(url, options);
  const self = { worker: w, pending: new Map() as Pending };
  w.on('message', (reply: RenderReply) => self.pending.get(reply.id)?.resolve(reply));
  const fail = (error: Error) => {
    if (current === self) current = undefined;
    for (const p of self.pending.values()) p.reject(error);
    self.pending.clear();
  };
  w.on('error', fail);
  w.on('exit', () => fail(new Error('the template worker stopped')));
  // After the listeners: adding a 'message' listener refs the worker's port again.
  w.unref();
  return self;
}

/** Starts the renderer's worker ahead of its first use (e.g. while a model loads). */
export function warmTemplateRenderer(): void {
  current ??= start();
}

/** Stops the current worker (a render over budget); its pending renders fail with `why`. */
function kill(why: Error): void {
  const self = current;
  current = undefined;
  if (!self) return;
  for (const p of self.pending.values()) p.reject(why);
  self.pending.clear();
  void self.worker.terminate();
}

function envTimeout(): number | undefined {
  const ms = Number(process.env.TEXTGEN_TEMPLATE_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Rebuilds the worker's error: raise_exception → InputError, anything else → ModelError. */
function rebuild(error: Extract<RenderReply, { error: unknown }>['error'], title: string): Error {
  if (error.name === 'InputError') return new InputError(error.message, error.hint);
  if (error.name === 'ModelError') return new ModelError(error.message, error.hint);
  if (error.exitCode !== undefined)
    return new TextgenError(error.message, { exitCode: error.exitCode, hint: error.hint });
  return new ModelError(
    `${title} cannot be rendered: ${error.message}.`,
    'Fix chat_template in tokenizer_config.json, or use --raw (generate) to skip it.',
  );
}

/**
 * Renders a chat template within the budget. Over time or memory → ModelError naming the template;
 * aborted → AbortedError; the template's own raise_exception → InputError.
 */
export async function renderChatTemplateBudgeted(
  template: string,
  input: ChatTemplateInput,
  budget: RenderBudget = {},
): Promise<string> {
  const name = budget.name ?? "the model's chat template";
  const title = name.charAt(0).toUpperCase() + name.slice(1);
  const timeoutMs = budget.timeoutMs ?? envTimeout() ?? DEFAULT_TIMEOUT_MS;
  if (budget.signal?.aborted) throw new AbortedError();
  const renderer = (current ??= start());
  const id = nextId++;
  const request: RenderRequest = {
    id,
    template,
    input: { ...input, name, now: input.now?.getTime() },
    maxChars: budget.maxChars ?? DEFAULT_MAX_CHARS,
  };
  const hint = 'Fix chat_template in tokenizer_config.json, or use --raw (generate) to skip it.';
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => kill(new AbortedError());
  try {
    const reply = await new Promise<RenderReply>((resolve, reject) => {
      renderer.pending.set(id, { resolve, reject });
      timer = setTimeout(
        () =>
          kill(
            new ModelError(
              `${title} did not finish rendering within ${timeoutMs / 1000} s (the budget for a template).`,
              hint,
            ),
          ),
        timeoutMs,
      );
      budget.signal?.addEventListener('abort', onAbort, { once: true });
      renderer.worker.postMessage(request);
    });
    if ('error' in reply) throw rebuild(reply.error, title);
    return reply.text;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ERR_WORKER_OUT_OF_MEMORY')
      throw new ModelError(`${title} used more than ${HEAP_MB} MiB while rendering.`, hint);
    throw error;
  } finally {
    renderer.pending.delete(id);
    clearTimeout(timer);
    budget.signal?.removeEventListener('abort', onAbort);
  }
}
