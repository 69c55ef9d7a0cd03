/**
 * Chat templates rendered with a time, memory and size budget, away from the process that handles
 * signals. A chat template is code from the model folder: `{% for i in range(1000000000) %}` or
 * nested loops would otherwise block the main thread (Ctrl-C and SIGTERM ignored) or abort the whole
 * process with a V8 heap error. Here a child process renders (a worker thread's heap limit does not
 * stop one huge allocation from aborting the process, a child's death is contained); the main thread
 * waits with a deadline and an AbortSignal. A template over budget is killed and reported as a
 * ModelError naming the template; the next render starts a fresh child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AbortedError, InputError, ModelError, TextgenError } from '../errors.js';
import type { ChatTemplateInput } from './chat-template.js';
import type { RenderReply, RenderRequest } from './template-worker.js';

/** Limits of one render. */
export interface RenderBudget {
  /** Wall-clock milliseconds of rendering (default 3000, or TEXTGEN_TEMPLATE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Characters of output at most (default 16 Mi). */
  maxChars?: number;
  /** Aborts the render (the renderer is killed at once). */
  signal?: AbortSignal;
  /** How errors name the template, e.g. "the chat template in DIR/tokenizer_config.json". */
  name?: string;
}

/** The renderer's heap limit: generous for any real conversation, far below the machine's. */
const HEAP_MB = 256;
const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_MAX_CHARS = 16 * 1024 * 1024;
const HINT = 'Fix chat_template in tokenizer_config.json, or use --raw (generate) to skip it.';

type Pending = Map<number, { resolve: (r: RenderReply) => void; reject: (e: Error) => void }>;

/** A renderer process, the renders it owes (a killed one fails only its own), and its start. */
interface Renderer {
  child: ChildProcess;
  pending: Pending;
  ready: Promise<void>;
  /** Renders waiting on it: the child keeps this process alive only while there are some. */
  active: number;
}

let current: Renderer | undefined;
let nextId = 1;

/** The child's script; under tsx (tests) it is a .ts file, loaded through tsx. */
function childScript(): { path: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(`./template-worker.${ts ? 'ts' : 'js'}`, import.meta.url));
  const execArgv = [`--max-old-space-size=${HEAP_MB}`, ...(ts ? ['--import', 'tsx'] : [])];
  return { path, execArgv };
}

function setRef(r: Renderer, on: boolean): void {
  const channel = r.child.channel as { ref(): void; unref(): void } | undefined;
  if (on) {
    r.child.ref();
    channel?.ref();
  } else {
    r.child.unref();
    channel?.unref();
  }
}

/** Starts a renderer process (unref'd: an idle renderer never keeps the process alive). */
function start(): Renderer {
  const { path, execArgv } = childScript();
  // No stdio: a V8 fatal error report in the child must not reach the user's terminal. node's fork,
  // not execa: this is a long-lived, unref'd IPC worker, not a command run to completion.
  const child = fork(path, [], { execArgv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  let ready!: () => void;
  let failed!: (error: Error) => void;
  const self: Renderer = {
    child,
    pending: new Map(),
    ready: new Promise<void>((resolve, reject) => ((ready = resolve), (failed = reject))),
    active: 0,
  };
  self.ready.catch(() => undefined);
  child.on('message', (reply: RenderReply | { ready: true }) => {
    if ('ready' in reply) ready();
    else self.pending.get(reply.id)?.resolve(reply);
  });
  const fail = (error: Error) => {
    if (current === self) current = undefined;
    failed(error);
    for (const p of self.pending.values()) p.reject(error);
    self.pending.clear();
  };
  child.on('error', fail);
  child.on('exit', (code, signal) => fail(Object.assign(new Error('exit'), { code, signal })));
  setRef(self, false);
  return self;
}

/** Stops the current renderer (a render over budget); its pending renders fail with `why`. */
function kill(why: Error): void {
  const self = current;
  current = undefined;
  if (!self) return;
  for (const p of self.pending.values()) p.reject(why);
  self.pending.clear();
  self.child.kill('SIGKILL');
}

/** Starts the renderer ahead of its first use (e.g. while a model loads). */
export function warmTemplateRenderer(): void {
  current ??= start();
}

function envTimeout(): number | undefined {
  const ms = Number(process.env.TEXTGEN_TEMPLATE_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Rebuilds the child's error: raise_exception → InputError, anything else → ModelError. */
function rebuild(error: Extract<RenderReply, { error: unknown }>['error'], title: string): Error {
  if (error.name === 'InputError') return new InputError(error.message, error.hint);
  if (error.name === 'ModelError') return new ModelError(error.message, error.hint);
  if (error.exitCode !== undefined)
    return new TextgenError(error.message, { exitCode: error.exitCode, hint: error.hint });
  return new ModelError(`${title} cannot be rendered: ${error.message}.`, HINT);
}

/**
 * Renders a chat template within the budget. Over time, memory or size → ModelError naming the
 * template; aborted → AbortedError; the template's own raise_exception → InputError.
 */
export async function renderChatTemplateBudgeted(
  template: string,
  input: ChatTemplateInput,
  budget: RenderBudget = {},
): Promise<string> {
  const name = budget.name ?? "the model's chat template";
  if (budget.signal?.aborted) throw new AbortedError();
  const renderer = (current ??= start());
  if (renderer.active++ === 0) setRef(renderer, true);
  try {
    await renderer.ready;
    return await render(renderer, template, { ...input, name }, budget);
  } catch (error) {
    const e = error as { code?: unknown; signal?: unknown; message?: string };
    if (e.message === 'exit' && (e.code !== undefined || e.signal !== undefined))
      throw new ModelError(
        `${title(name)} stopped its renderer (over the ${HEAP_MB} MiB memory budget, or it crashed).`,
        HINT,
      );
    throw error;
  } finally {
    if (--renderer.active === 0 && current === renderer) setRef(renderer, false);
  }
}

function title(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

async function render(
  renderer: Renderer,
  template: string,
  input: ChatTemplateInput & { name: string },
  budget: RenderBudget,
): Promise<string> {
  const timeoutMs = budget.timeoutMs ?? envTimeout() ?? DEFAULT_TIMEOUT_MS;
  if (budget.signal?.aborted) throw new AbortedError();
  const id = nextId++;
  const request: RenderRequest = {
    id,
    template,
    input: { ...input, now: input.now?.getTime() },
    maxChars: budget.maxChars ?? DEFAULT_MAX_CHARS,
  };
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => kill(new AbortedError());
  try {
    const reply = await new Promise<RenderReply>((resolve, reject) => {
      renderer.pending.set(id, { resolve, reject });
      timer = setTimeout(() => {
        const seconds = timeoutMs / 1000;
        kill(
          new ModelError(
            `${title(input.name)} did not finish rendering within ${seconds} s (the budget for a template).`,
            HINT,
          ),
        );
      }, timeoutMs);
      budget.signal?.addEventListener('abort', onAbort, { once: true });
      renderer.child.send(request);
    });
    if ('error' in reply) throw rebuild(reply.error, title(input.name));
    return reply.text;
  } finally {
    renderer.pending.delete(id);
    clearTimeout(timer);
    budget.signal?.removeEventListener('abort', onAbort);
  }
}
