/**
 * Runs one completion or chat call against a TextGenerator and answers it, as one JSON object or as
 * server-sent events. Each prompt is one generate() call (the batch scheduler decodes concurrent calls
 * together); greedy calls with n > 1 decode once and repeat the choice, as greedy search has one answer.
 * Nothing is sent before every prompt has produced its first event, so a prompt that does not fit is
 * a plain HTTP 400.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  renderChatTemplate,
  resolveSettings,
  type FieldLimits,
  type GenerationEvent,
  type GenerationSettings,
  type TextGenerator,
} from '../generation/index.js';
import { HttpError, toHttpError } from './http-errors.js';
import type { RequestRecord } from './metrics.js';
import type { CompletionCall } from './requests.js';
import { SseStream } from './sse.js';
import { LogprobFormatter, type Done, type TokenEvent } from './choices.js';

/** What a call needs besides its parsed body. */
export interface CompletionContext {
  generator: TextGenerator;
  modelName: string;
  call: CompletionCall;
  limits: FieldLimits;
  response: ServerResponse;
  /** Extra response headers (CORS). */
  headers: Record<string, string>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** performance.now() when the request arrived. */
  arrival: number;
}

/** The settings and prompts of a call. */
interface Plan {
  settings: GenerationSettings;
  prompts: Array<string | number[]>;
  addSpecialTokens: boolean;
  /** Choices made by repeating one sequence (greedy n > 1), else 1. */
  fanout: number;
}

/** Resolves settings (model defaults, OpenAI's default max_tokens, the request) and the prompts. */
function plan(
  generator: TextGenerator,
  name: string,
  call: CompletionCall,
  limits: FieldLimits,
): Plan {
  const { info } = generator;
  const layer = { ...call.layer };
  if (call.logprobs !== undefined) layer.logprobs = Math.max(1, call.logprobs);
  // OpenAI's default max_tokens: 16 for completions, the rest of the context for chat.
  const defaults = { max_new_tokens: call.kind === 'completion' ? 16 : limits.maxTokens };
  const probe = resolveSettings(info.generationDefaults, defaults, {
    ...layer,
    num_return_sequences: 1,
  });
  const fanout = probe.do_sample ? 1 : call.n;
  const settings = fanout > 1 ? probe : resolveSettings(info.generationDefaults, defaults, layer);
  if (call.kind === 'completion')
    return { settings, prompts: call.prompts, addSpecialTokens: true, fanout };
  if (!info.chatTemplate)
    throw new HttpError(400, `The model ${name} has no chat template: use /v1/completions.`, {
      code: 'no_chat_template',
      param: 'model',
    });
  const prompt = renderChatTemplate(info.chatTemplate, {
    messages: call.messages!,
    addGenerationPrompt: true,
    specialTokens: info.specialTokens,
  });
  return { settings, prompts: [prompt], addSpecialTokens: false, fanout };
}

const FINISH: Record<string, string> = {
  eos: 'stop',
  stop: 'stop',
  length: 'length',
  aborted: 'abort',
};

/** Runs the call and answers it; resolves to what /metrics records. */
export async function runCompletion(ctx: CompletionContext): Promise<RequestRecord> {
  const { generator, call } = ctx;
  const p = plan(generator, ctx.modelName, call, ctx.limits);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const iterators = p.prompts.map((prompt) =>
    generator.generate({
      prompt: typeof prompt === 'string' ? prompt : '',
      promptIds: typeof prompt === 'string' ? undefined : [prompt],
      settings: p.settings,
      signal: stop.signal,
      addSpecialTokens: p.addSpecialTokens,
    }),
  );
  const out = new Responder(ctx, p);
  const times: number[] = [];
  try {
    const firsts = await Promise.all(iterators.map((it) => it.next()));
    out.open();
    const dones = await Promise.all(
      iterators.map(async (it, i) => {
        for (let r = firsts[i]; !r.done; r = await it.next()) {
          const event: GenerationEvent = r.value;
          if (event.type === 'token') {
            if (i === 0 && event.sequence === 0 && event.id >= 0) times.push(performance.now());
            await out.token(i, event);
          } else if (event.type === 'done') {
            out.done(i, event);
            return event;
          }
        }
        throw new Error('generation ended without a done event');
      }),
    );
    await out.finish(dones);
    return record(ctx, dones, times, stop.signal.aborted);
  } catch (error) {
    stop.abort();
    await Promise.allSettled(iterators.map((it) => it.return?.(undefined)));
    if (!out.opened) throw error;
    out.fail(error);
    return {
      model: ctx.modelName,
      promptTokens: 0,
      completionTokens: 0,
      reason: 'error',
      e2eSeconds: 0,
      gaps: [],
    };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

function record(
  ctx: CompletionContext,
  dones: Done[],
  times: number[],
  aborted: boolean,
): RequestRecord {
  const tokens = dones.reduce(
    (a, d) => a + d.sequences.reduce((b, s) => b + s.token_ids.length, 0),
    0,
  );
  return {
    model: ctx.modelName,
    promptTokens: dones.reduce((a, d) => a + d.stats.promptTokens + d.stats.cachedTokens, 0),
    completionTokens: tokens,
    reason: aborted ? 'aborted' : (FINISH[dones[0].reason] ?? 'stop'),
    ttftSeconds: times.length ? (times[0] - ctx.arrival) / 1000 : undefined,
    e2eSeconds: (performance.now() - ctx.arrival) / 1000,
    gaps: times.slice(1).map((t, i) => (t - times[i]) / 1000),
  };
}

/** Writes the answer: SSE chunks as events arrive, or one JSON object at the end. */
class Responder {
  /** Whether SSE headers went out (errors then become an error event). */
  opened = false;
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly sse?: SseStream;
  private readonly logprobs: LogprobFormatter;

  constructor(
    private readonly ctx: CompletionContext,
    private readonly plan: Plan,
  ) {
    const chat = ctx.call.kind === 'chat';
    this.id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
    if (ctx.call.stream) this.sse = new SseStream(ctx.response);
    this.logprobs = new LogprobFormatter(ctx.generator, ctx.call);
  }

  private get object(): string {
    if (this.ctx.call.kind === 'chat')
      return this.sse ? 'chat.completion.chunk' : 'chat.completion';
    return 'text_completion';
  }

  private base(): Record<string, unknown> {
    return { id: this.id, object: this.object, created: this.created, model: this.ctx.modelName };
  }

  /** Choice indices of sequence `seq` of prompt `prompt`. */
  private indices(prompt: number, seq: number): number[] {
    const { n } = this.ctx.call;
    if (this.plan.fanout === 1) return [prompt * n + seq];
    return Array.from({ length: this.plan.fanout }, (_, j) => prompt * n + j);
  }

  private chunk(index: number, text: string | undefined, extra: Record<string, unknown>): object {
    const usage = this.ctx.call.includeUsage ? { usage: null } : {};
    const body =
      this.ctx.call.kind === 'chat'
        ? {
            index,
            delta: text === undefined ? {} : { content: text },
            logprobs: null,
            finish_reason: null,
            ...extra,
          }
        : { index, text: text ?? '', logprobs: null, finish_reason: null, ...extra };
    return { ...this.base(), choices: [body], ...usage };
  }

  open(): void {
    if (!this.sse) return;
    this.opened = true;
    this.sse.open(this.ctx.headers);
    if (this.ctx.call.kind !== 'chat') return;
    const choices = this.plan.prompts.length * this.ctx.call.n;
    for (let index = 0; index < choices; index++) {
      const usage = this.ctx.call.includeUsage ? { usage: null } : {};
      const delta = { role: 'assistant', content: '' };
      this.sse.send({
        ...this.base(),
        choices: [{ index, delta, logprobs: null, finish_reason: null }],
        ...usage,
      });
    }
  }

  async token(prompt: number, event: TokenEvent): Promise<void> {
    if (!this.sse) return;
    const logprobs = this.ctx.call.logprobs !== undefined && event.logprob;
    if (!event.text && !logprobs) return;
    const extra: Record<string, unknown> = {};
    if (logprobs)
      extra.logprobs = await this.logprobs.format([event.logprob!], `${prompt}/${event.sequence}`);
    if (this.ctx.call.returnTokenIds && event.id >= 0) extra.token_ids = [event.id];
    for (const index of this.indices(prompt, event.sequence))
      this.sse.send(this.chunk(index, event.text, extra));
  }

  done(prompt: number, done: Done): void {
    if (!this.sse) return;
    done.sequences.forEach((s, seq) => {
      for (const index of this.indices(prompt, seq))
        this.sse!.send(this.chunk(index, undefined, { finish_reason: FINISH[s.finish_reason] }));
    });
  }

  private usage(dones: Done[]): Record<string, number> {
    const prompt = dones.reduce((a, d) => a + d.stats.promptTokens + d.stats.cachedTokens, 0);
    const completion =
      dones.reduce((a, d) => a + d.sequences.reduce((b, s) => b + s.token_ids.length, 0), 0) *
      this.plan.fanout;
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    };
  }

  async finish(dones: Done[]): Promise<void> {
    if (this.sse) {
      if (this.ctx.call.includeUsage)
        this.sse.send({ ...this.base(), choices: [], usage: this.usage(dones) });
      this.sse.done();
      return;
    }
    await this.json(dones);
  }

  private async json(dones: Done[]): Promise<void> {
    const choices: Array<Record<string, unknown>> = [];
    for (let i = 0; i < dones.length; i++) {
      for (let seq = 0; seq < dones[i].sequences.length; seq++) {
        const s = dones[i].sequences[seq];
        const logprobs =
          this.ctx.call.logprobs !== undefined && s.logprobs
            ? await this.logprobs.format(s.logprobs, `json ${i}/${seq}`)
            : null;
        for (const index of this.indices(i, seq)) {
          const content =
            this.ctx.call.kind === 'chat'
              ? { message: { role: 'assistant', content: s.text } }
              : { text: s.text };
          const ids = this.ctx.call.returnTokenIds ? { token_ids: s.token_ids } : {};
          choices.push({
            index,
            ...content,
            logprobs,
            finish_reason: FINISH[s.finish_reason],
            ...ids,
          });
        }
      }
    }
    choices.sort((a, b) => (a.index as number) - (b.index as number));
    if (this.ctx.response.destroyed) return;
    const body = JSON.stringify({ ...this.base(), choices, usage: this.usage(dones) });
    this.ctx.response.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      ...this.ctx.headers,
    });
    this.ctx.response.end(body);
  }

  /** An error after the stream opened: an error event. */
  fail(error: unknown): void {
    this.sse?.fail(toHttpError(error).envelope());
  }
}
