/**
 * A remote OpenAI-compatible engine (textgen serve, vLLM, llama.cpp's server, ollama, TGI) as a
 * TextGenerator: generate() streams /v1/completions (or /v1/chat/completions for a chat turn, so the
 * engine applies its own chat template) and yields the same events a local model yields. Settings go
 * out through the shared field table; those the engine does not read are named once in a notice.
 * Busy answers (429/503) are retried after Retry-After; every failure is a typed textgen error.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { UsageError } from '../errors.js';
import type { GenerationEvent, GenerationStats } from '../events.js';
import type { ModelInfo } from '../host/model-host.js';
import type { GenerateRequest, TextGenerator } from '../host/text-generator.js';
import type { ScoreResult } from '../decode/score.js';
import { detectEngine, requestFields, type EngineProfile } from './engines.js';
import { normaliseError, unreachable } from './remote-errors.js';
import { readStream } from './remote-stream.js';

/** How to reach an engine. */
export interface RemoteOptions {
  apiKey?: string;
  /** The model to use (default: the first one the endpoint lists). */
  model?: string;
  /** How often a 429/503 answer is retried (default 2); waits follow Retry-After, at most 10 s. */
  retries?: number;
}

/** The context length assumed when an engine does not say (ollama). */
const UNKNOWN_CONTEXT = 4096;

/** The /v1 base URL of an endpoint given with or without it. */
export function baseUrl(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`--endpoint must be an http(s) URL, got '${endpoint}'.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--endpoint must be an http(s) URL, got '${endpoint}'.`);
  url.pathname = url.pathname.replace(/\/+$/, '') || '/v1';
  return url;
}

/** Connects to `endpoint` (lists its models, picks one, recognises the engine). */
export async function connectEndpoint(
  endpoint: string,
  options: RemoteOptions = {},
): Promise<TextGenerator> {
  const remote = new RemoteGenerator(baseUrl(endpoint), options);
  await remote.connect();
  return remote;
}

class RemoteGenerator implements TextGenerator {
  info!: ModelInfo;
  private engine!: EngineProfile;
  private model = '';
  private models: string[] = [];
  private readonly warned = new Set<string>();
  private tokenizeWorks = true;
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly base: URL,
    private readonly options: RemoteOptions,
  ) {}

  private get label(): string {
    return this.base.href.replace(/\/$/, '');
  }

  private url(path: string, root = false): string {
    return root ? new URL(path, this.base).href : `${this.label}${path}`;
  }

  private headers(json: boolean): Record<string, string> {
    return {
      ...(json ? { 'Content-Type': 'application/json' } : {}),
      ...(this.options.apiKey ? { Authorization: `Bearer ${this.options.apiKey}` } : {}),
    };
  }

  /** A request, retried while the engine is busy; throws typed errors. */
  private async call(url: string, body?: object, signal?: AbortSignal): Promise<Response> {
    const retries = this.options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method: body ? 'POST' : 'GET',
          headers: this.headers(body !== undefined),
          body: body ? JSON.stringify(body) : undefined,
          signal,
        });
      } catch (error) {
        if (signal?.aborted) throw error;
        throw unreachable(this.label, error);
      }
      if (res.ok) return res;
      const retryAfter = res.headers.get('retry-after') ?? undefined;
      const text = await res.text();
      if ((res.status === 429 || res.status === 503) && attempt < retries) {
        const seconds = Number(retryAfter);
        await delay(Math.min(10, Number.isFinite(seconds) ? seconds : 1) * 1000, undefined, { signal }); // prettier-ignore
        continue;
      }
      throw normaliseError(res.status, text, {
        endpoint: this.label,
        model: this.model,
        models: this.models,
        retries: attempt,
        retryAfter,
      });
    }
  }

  /** Lists the models, picks one and fills in `info`. */
  async connect(): Promise<void> {
    const res = await this.call(this.url('/models'));
    const list = ((await res.json().catch(() => ({}))) as { data?: Array<Record<string, unknown>> }).data ?? []; // prettier-ignore
    this.models = list.map((m) => String(m.id));
    const chosen = this.options.model ?? this.models[0];
    if (!chosen) throw new UsageError(`${this.label} lists no models.`, 'Name one with --model.');
    const entry = list.find((m) => m.id === chosen);
    if (this.options.model && list.length > 0 && !entry)
      throw normaliseError(404, JSON.stringify({ error: { message: `model '${chosen}' does not exist`, code: 'model_not_found' } }), { endpoint: this.label, model: chosen, models: this.models }); // prettier-ignore
    this.model = chosen;
    this.engine = detectEngine(entry ?? list[0]);
    const meta = (entry?.meta ?? {}) as Record<string, unknown>;
    const context = Number(entry?.max_model_len ?? (await this.llamaContext()) ?? meta.n_ctx_train ?? UNKNOWN_CONTEXT); // prettier-ignore
    this.info = {
      dir: this.label,
      modelType: 'remote',
      architecture: this.engine.name,
      task: 'text-generation',
      contextLength: context,
      vocabSize: Number(meta.n_vocab ?? 0),
      dtype: 'remote',
      device: 'remote',
      threads: 0,
      specialTokens: {},
      eosTokenIds: [],
      generationDefaults: {},
      onnxFiles: [],
      cached: true,
      serverTemplate: true,
      remote: { engine: this.engine.name, host: this.base.host, model: chosen },
    };
  }

  /** llama.cpp's server context (GET /props), which may be smaller than the model's training context. */
  private async llamaContext(): Promise<number | undefined> {
    if (this.engine.name !== 'llama.cpp') return undefined;
    const res = await fetch(this.url('/props', true), { headers: this.headers(false) }).catch(() => undefined); // prettier-ignore
    const props = res?.ok ? ((await res.json().catch(() => ({}))) as Record<string, unknown>) : {};
    const n = (props.default_generation_settings as Record<string, unknown> | undefined)?.n_ctx;
    return typeof n === 'number' ? n : undefined;
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerationEvent> {
    const { fields, ignored } = requestFields(request.settings, this.engine);
    const fresh = ignored.filter((name) => !this.warned.has(name));
    fresh.forEach((name) => this.warned.add(name));
    if (fresh.length)
      yield { type: 'notice', message: `${this.engine.name} does not read ${fresh.join(', ')}: ignored.` }; // prettier-ignore
    const prompts: Array<string | number[]> = request.promptIds ?? request.prompts ?? [request.prompt]; // prettier-ignore
    const chat = request.messages !== undefined && prompts.length === 1 && !request.promptIds;
    const dones: Array<Extract<GenerationEvent, { type: 'done' }>> = [];
    let offset = 0;
    for (const prompt of prompts) {
      const body: Record<string, unknown> = {
        model: this.model,
        ...(chat ? { messages: request.messages } : { prompt }),
        ...fields,
        stream: true,
        stream_options: { include_usage: true },
        ...(this.engine.tokenIds ? { return_token_ids: true } : {}),
      };
      const done = yield* this.stream(chat ? '/chat/completions' : '/completions', body, request, offset); // prettier-ignore
      dones.push(done);
      offset += done.sequences.length;
      if (done.reason === 'aborted') break;
    }
    if (dones.length === 1) {
      yield dones[0];
      return;
    }
    const stats = sumStats(dones.map((d) => d.stats));
    yield { type: 'done', reason: dones[0].reason, sequences: dones.flatMap((d) => d.sequences), stats }; // prettier-ignore
  }

  /** One streamed request; yields its token events and returns (not yields) its done event. */
  private async *stream(
    path: string,
    body: Record<string, unknown>,
    request: GenerateRequest,
    offset: number,
  ): AsyncGenerator<GenerationEvent, Extract<GenerationEvent, { type: 'done' }>> {
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted) abort.abort();
    this.inFlight.add(abort);
    try {
      const res = await this.call(this.url(path), body, abort.signal).catch((error) => {
        if (abort.signal.aborted) return undefined;
        throw error;
      });
      return yield* readStream(res, {
        chat: path.startsWith('/chat'),
        offset,
        signal: abort.signal,
        contextLength: this.info.contextLength,
        stop: request.settings.stop,
        fail: (status, text) => normaliseError(status, text, { endpoint: this.label, model: this.model, models: this.models }), // prettier-ignore
      });
    } finally {
      abort.abort();
      this.inFlight.delete(abort);
      request.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Token ids from the engine's /tokenize, or an estimate (4 bytes a token) where it has none. */
  async tokenize(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]> {
    const add = options?.addSpecialTokens ?? true;
    const shape = this.engine.tokenize;
    if (shape && this.tokenizeWorks) {
      const body = shape === 'prompt' ? { model: this.model, prompt: text, add_special_tokens: add } : { content: text, add_special: add }; // prettier-ignore
      try {
        const res = await this.call(this.url('/tokenize', true), body);
        const tokens = ((await res.json()) as { tokens?: unknown }).tokens;
        if (Array.isArray(tokens)) return tokens.map((t) => (typeof t === 'number' ? t : Number((t as { id?: number }).id))); // prettier-ignore
      } catch (error) {
        if (!(error instanceof Error) || !/\((404|405|501)\)/.test(error.message)) throw error;
      }
      this.tokenizeWorks = false;
    }
    const estimate = Math.ceil(new TextEncoder().encode(text).length / 4);
    return new Array<number>(estimate).fill(-1);
  }

  async detokenize(ids: number[]): Promise<string> {
    const shape = this.engine.tokenize;
    if (!shape) throw new UsageError(`${this.engine.name} cannot turn token ids into text over HTTP.`); // prettier-ignore
    const body = shape === 'prompt' ? { model: this.model, tokens: ids } : { tokens: ids };
    const res = await this.call(this.url('/detokenize', true), body);
    const out = (await res.json()) as { prompt?: string; content?: string };
    return out.prompt ?? out.content ?? '';
  }

  async score(): Promise<ScoreResult> {
    throw new UsageError(
      'Scoring needs a local model: remote engines do not return prompt log-probabilities here.',
      'Drop --endpoint to score with a local model.',
    );
  }

  async dispose(): Promise<void> {
    for (const abort of this.inFlight) abort.abort();
  }
}

function sumStats(all: GenerationStats[]): GenerationStats {
  const sum = (k: keyof GenerationStats) => all.reduce((a, s) => a + s[k], 0);
  return {
    ...all[0],
    promptTokens: sum('promptTokens'),
    completionTokens: sum('completionTokens'),
    prefillMs: sum('prefillMs'),
    decodeMs: sum('decodeMs'),
  };
}
