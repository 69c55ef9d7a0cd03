/**
 * The core's public entry: loadModel() starts a worker thread that owns the ONNX sessions and returns a
 * TextGenerator whose generate() is an async generator of typed events. `inProcess` runs the same host
 * on the calling thread (benchmarks, tests).
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../common/worker.js';
import {
  AbortedError,
  DeviceError,
  InputError,
  ModelError,
  TextgenError,
  UsageError,
} from '../errors.js';
import type { GenerationEvent } from '../events.js';
import { ModelHost, type LoadOptions, type ModelInfo } from './model-host.js';
import type { FromWorker, ToWorker, WireError } from './protocol.js';
import { prepareDevice } from '../runtime/webgpu-quiet.js';
import type { ScoreRequest, ScoreResult } from '../decode/score.js';
import type { GenerationSettings } from '../settings.js';
import type { BatchStatus } from '../decode/batch-scheduler.js';
import type { ChatMessage } from '../chat/chat-template.js';
import { prepareOrtProcess, WORKER_STACK_MB } from '../runtime/ort-process.js';

/** Options for {@link loadModel}. */
export interface TextGeneratorOptions extends LoadOptions {
  /** Run on this thread instead of a worker (blocks the event loop while decoding). */
  inProcess?: boolean;
  /** Aborting stops waiting for the load at once (AbortedError); the worker is terminated. */
  signal?: AbortSignal;
}

/** One generation request. */
export interface GenerateRequest {
  prompt: string;
  /** Several prompts decoded as one left-padded batch (`prompt` is then ignored). */
  prompts?: string[];
  /** Already-tokenized prompts (benchmarks); they replace `prompt` and `prompts`. */
  promptIds?: number[][];
  settings: GenerationSettings;
  /** Aborting stops within one decode step; the done event then has reason 'aborted'. */
  signal?: AbortSignal;
  /** Default true: BOS/EOS per tokenizer_config. False for text already rendered by a chat template. */
  addSpecialTokens?: boolean;
  /** Keep the KV cache after this call and reuse the longest common token prefix on the next one. */
  keepCache?: boolean;
  /**
   * The conversation a chat turn's prompt was rendered from. A remote engine sends these to
   * /v1/chat/completions and applies its own template; a local model reads `prompt`.
   */
  messages?: ChatMessage[];
}

/** A loaded model. */
export interface TextGenerator {
  readonly info: ModelInfo;
  /** Streams events; the last one is `done`. */
  generate(request: GenerateRequest): AsyncGenerator<GenerationEvent>;
  tokenize(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** Teacher-forced NLL of tokens (perplexity): one causal window, or an (input, target) pair. */
  score(request: ScoreRequest): Promise<ScoreResult>;
  /** Rows and queue of a model loaded with `parallel` (continuous batching); undefined otherwise. */
  batchStatus?(): BatchStatus | undefined;
  dispose(): Promise<void>;
}

/** Loads a model folder and returns a generator for it. */
export async function loadModel(
  dir: string,
  options: TextGeneratorOptions = {},
): Promise<TextGenerator> {
  const { signal, ...rest } = options;
  if (signal?.aborted) throw new AbortedError();
  // WebGPU's process-wide start (quiet Dawn, auto's adapter probe) belongs to the main thread.
  const { inProcess, ...prepared } = await prepareDevice(rest);
  if (inProcess) return new InProcessGenerator(await ModelHost.load(dir, prepared));
  return WorkerGenerator.start(dir, prepared, signal);
}

class InProcessGenerator implements TextGenerator {
  constructor(private readonly host: ModelHost) {}

  get info(): ModelInfo {
    return this.host.info;
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerationEvent> {
    const { signal, ...rest } = request;
    yield* this.host.generate(rest, () => signal?.aborted ?? false);
  }

  async tokenize(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]> {
    return this.host.tokenize(text, options?.addSpecialTokens ?? true);
  }

  async detokenize(ids: number[]): Promise<string> {
    return this.host.detokenize(ids);
  }

  score(request: ScoreRequest): Promise<ScoreResult> {
    return this.host.score(request);
  }

  batchStatus(): BatchStatus | undefined {
    return this.host.batch?.status();
  }

  async dispose(): Promise<void> {
    this.host.dispose();
  }
}

const ERROR_CLASSES: Record<string, (m: string, h?: string) => TextgenError> = {
  ModelError: (m, h) => new ModelError(m, h),
  InputError: (m, h) => new InputError(m, h),
  UsageError: (m, h) => new UsageError(m, h),
  DeviceError: (m, h) => new DeviceError(m, h),
  AbortedError: (m) => new AbortedError(m),
};

/**
 * onnxruntime failures that mean the model and its folder do not fit together (what the load-time
 * checks in model/compatibility.ts cannot see): model errors, not textgen bugs.
 */
const ORT_MODEL_FAILURES: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [
    /input '([^']+)' is missing in 'feeds'/,
    (m) => `The model needs an input textgen does not feed (${m[1]}).`,
  ],
  [
    /Gather node\. Name:'([^']*)'.*idx=(-?\d+) must be within the inclusive range \[(-?\d+),(-?\d+)\]/,
    (m) =>
      `The model's table ${m[1]} has ${Number(m[4]) + 1} rows; id ${m[2]} is beyond it (the tokenizer or config.json does not match the ONNX file).`,
  ],
];

/** Rebuilds a worker error as the same typed error on this thread. */
function rebuild(error: WireError): Error {
  const make = ERROR_CLASSES[error.name];
  if (make) return make(error.message, error.hint);
  for (const [pattern, say] of ORT_MODEL_FAILURES) {
    const m = pattern.exec(error.message);
    if (m)
      return new ModelError(
        say(m),
        'Check that every file in the model folder comes from the same export.',
      );
  }
  if (error.exitCode !== undefined)
    return new TextgenError(error.message, { exitCode: error.exitCode, hint: error.hint });
  const plain = new Error(error.message);
  plain.name = error.name;
  return plain;
}

/** Starts the worker (its .ts source under tsx, in tests). */
function createWorker(): Worker {
  prepareOrtProcess();
  // The prompt reaches the worker in messages only (a worker's process.argv is not the parent's).
  return startModuleWorker(import.meta.url, './worker', {
    resourceLimits: { stackSizeMb: WORKER_STACK_MB },
  });
}

type Listener = (message: FromWorker) => void;

class WorkerGenerator implements TextGenerator {
  private nextId = 1;
  private readonly listeners = new Map<number, Listener>();
  /** Work the worker may still be running (generations until their done event, requests until answered). */
  private readonly busy = new Set<Promise<void>>();
  /** Abort flags of the generations in flight. */
  private readonly aborts = new Set<() => void>();
  private failure?: Error;
  private batch?: BatchStatus;

  private constructor(
    private readonly worker: Worker,
    readonly info: ModelInfo,
  ) {
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'batch') this.batch = message.status;
      else if ('id' in message && message.id !== null) this.listeners.get(message.id)?.(message);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`the model worker exited with code ${code}`));
    });
  }

  static async start(
    dir: string,
    options: LoadOptions,
    signal?: AbortSignal,
  ): Promise<WorkerGenerator> {
    const worker = createWorker();
    let batch: BatchStatus | undefined;
    let onAbort: (() => void) | undefined;
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'loaded') {
          batch = message.batch;
          resolve(message.info);
        } else if (message.type === 'error') reject(rebuild(message.error));
        else return;
        worker.off('message', onMessage);
        worker.off('error', reject);
      };
      worker.on('message', onMessage);
      worker.on('error', reject);
      // Session creation is one native call that cannot be interrupted: stop waiting for it instead.
      onAbort = () => reject(new AbortedError('Interrupted while loading the model.'));
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({ type: 'load', dir, options } satisfies ToWorker);
    })
      .catch(async (error) => {
        if (!signal?.aborted) {
          await worker.terminate();
          throw error;
        }
        // Interrupted: terminating now could land inside the binding's native code, which aborts the
        // process. The worker is left to finish its load and is then told to close; the CLI re-raises
        // the signal if the process is still held by it a moment later.
        worker.on('message', (message: FromWorker) => {
          if (message.type === 'loaded' || message.type === 'error')
            worker.postMessage({ type: 'dispose' } satisfies ToWorker);
        });
        throw error;
      })
      .finally(() => {
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      });
    const generator = new WorkerGenerator(worker, info);
    generator.batch ??= batch;
    return generator;
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const listener of this.listeners.values())
      listener({ type: 'error', id: null, error: { name: error.name, message: error.message } });
  }

  /** Tracks `work` until it settles, so dispose() can wait for the worker to be idle. */
  private track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.busy.add(settled);
    void settled.then(() => this.busy.delete(settled));
  }

  private request<T>(make: (id: number) => ToWorker): Promise<T> {
    const id = this.nextId++;
    const answer = new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.listeners.set(id, (message) => {
        this.listeners.delete(id);
        if (message.type === 'result') resolve(message.value as T);
        else if (message.type === 'error') reject(rebuild(message.error));
      });
      this.worker.postMessage(make(id));
    });
    this.track(answer);
    return answer;
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerationEvent> {
    const id = this.nextId++;
    const abort = new SharedArrayBuffer(4);
    const flag = new Int32Array(abort);
    const onAbort = () => Atomics.store(flag, 0, 1);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted) onAbort();
    const queue: FromWorker[] = [];
    let wake: (() => void) | undefined;
    // The worker is idle again only once it has sent `done` (or an error) for this generation.
    let settle!: () => void;
    const finished = new Promise<void>((resolve) => (settle = resolve));
    this.track(finished);
    this.aborts.add(onAbort);
    this.listeners.set(id, (message) => {
      if (
        message.type === 'error' ||
        (message.type === 'events' && message.events.some((e) => e.type === 'done'))
      )
        settle();
      queue.push(message);
      wake?.();
    });
    let posted = false;
    try {
      const { signal: _signal, ...rest } = request;
      this.worker.postMessage({ type: 'generate', id, request: rest, abort } satisfies ToWorker);
      posted = true;
      for (;;) {
        if (this.failure) throw this.failure;
        const message = queue.shift();
        if (!message) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        if (message.type === 'error') throw rebuild(message.error);
        if (message.type !== 'events') continue;
        for (const event of message.events) {
          yield event;
          if (event.type === 'done') return;
        }
      }
    } finally {
      // Leaving early (consumer break) must also stop the worker's loop.
      onAbort();
      request.signal?.removeEventListener('abort', onAbort);
      this.aborts.delete(onAbort);
      if (!posted || this.failure) settle();
      void finished.then(() => this.listeners.delete(id));
    }
  }

  tokenize(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]> {
    return this.request((id) => ({
      type: 'tokenize',
      id,
      text,
      addSpecialTokens: options?.addSpecialTokens ?? true,
    }));
  }

  detokenize(ids: number[]): Promise<string> {
    return this.request((id) => ({ type: 'detokenize', id, ids }));
  }

  score(request: ScoreRequest): Promise<ScoreResult> {
    return this.request((id) => ({ type: 'score', id, request }));
  }

  batchStatus(): BatchStatus | undefined {
    return this.batch;
  }

  /**
   * Stops the worker once it is idle: terminating it inside a native session.run() aborts the whole
   * process (onnxruntime's binding throws a C++ Napi::Error during teardown), so in-flight generations
   * are aborted and awaited first (they stop within one decode step).
   */
  async dispose(): Promise<void> {
    for (const abort of this.aborts) abort();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, DISPOSE_WAIT_MS)));
    await Promise.race([Promise.all(this.busy), timeout]);
    clearTimeout(timer);
    await this.worker.terminate();
  }
}

/** How long dispose() waits for the worker to finish its current step before terminating it anyway. */
const DISPOSE_WAIT_MS = 10_000;
