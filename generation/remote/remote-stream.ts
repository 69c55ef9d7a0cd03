/**
 * Reads one streamed OpenAI-compatible answer into textgen's events. It tolerates what engines do
 * differently: extra fields (vLLM's stop_reason, llama.cpp's timings), usage in a last chunk with no
 * choices or on the final choice chunk, or no usage at all (then chunks are counted), token ids only
 * from engines that return them (others report id -1), and an `error` event mid-stream.
 */
import type { TextgenError } from '../errors.js';
import type { FinishReason, GenerationEvent, SequenceResult } from '../events.js';
import { sseData } from './sse-reader.js';

type Done = Extract<GenerationEvent, { type: 'done' }>;

/** How to read one answer. */
export interface StreamOptions {
  chat: boolean;
  /** Added to choice indices (several prompts in one generate() call). */
  offset: number;
  signal: AbortSignal;
  contextLength: number;
  /** The stop strings asked for (tells a stop string from an end-of-sequence token). */
  stop: string[];
  fail: (status: number, body: string) => TextgenError;
}

interface Choice {
  text: string;
  ids: number[];
  chunks: number;
  finish?: string;
  stopReason?: unknown;
}

interface Chunk {
  choices?: Array<{
    index?: number;
    text?: string;
    delta?: { content?: string | null };
    finish_reason?: string | null;
    stop_reason?: unknown;
    token_ids?: number[] | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: unknown;
}

function finishReason(choice: Choice, aborted: boolean, stops: string[]): FinishReason {
  if (choice.finish === 'length') return 'length';
  if (choice.finish === undefined) return aborted ? 'aborted' : 'length';
  // OpenAI says "stop" for both; vLLM's stop_reason names the string, else a stop string was asked for.
  if (typeof choice.stopReason === 'string') return 'stop';
  return choice.stopReason === undefined && stops.length > 0 ? 'stop' : 'eos';
}

/** Yields token events of `res` (undefined: aborted before an answer) and returns the done event. */
export async function* readStream(
  res: Response | undefined,
  options: StreamOptions,
): AsyncGenerator<GenerationEvent, Done> {
  const start = performance.now();
  const choices = new Map<number, Choice>();
  let usage: Chunk['usage'];
  let first = 0;
  let last = 0;
  try {
    for await (const data of res?.body ? sseData(res.body as AsyncIterable<Uint8Array>) : []) {
      if (data.trim() === '[DONE]') break;
      let chunk: Chunk;
      try {
        chunk = JSON.parse(data) as Chunk;
      } catch {
        continue;
      }
      if (chunk.error) {
        const code = Number((chunk.error as { code?: unknown }).code);
        throw options.fail(code >= 400 && code < 600 ? code : 500, data);
      }
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices ?? []) {
        const index = (c.index ?? 0) + options.offset;
        const choice = choices.get(index) ?? { text: '', ids: [], chunks: 0 };
        choices.set(index, choice);
        const text = (options.chat ? c.delta?.content : c.text) ?? '';
        const ids = c.token_ids ?? [];
        if (text || ids.length) {
          const now = performance.now();
          first ||= now;
          last = now;
          choice.text += text;
          choice.chunks++;
          choice.ids.push(...ids);
          if (ids.length === 0) yield { type: 'token', sequence: index, id: -1, text };
          for (let i = 0; i < ids.length; i++)
            yield { type: 'token', sequence: index, id: ids[i], text: i === 0 ? text : '' };
        }
        if (c.finish_reason) choice.finish = c.finish_reason;
        if (c.stop_reason !== undefined && c.stop_reason !== null)
          choice.stopReason = c.stop_reason;
      }
    }
  } catch (error) {
    if (!options.signal.aborted) throw error;
  }
  const aborted = options.signal.aborted;
  const ordered = [...choices.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  if (ordered.length === 0) ordered.push({ text: '', ids: [], chunks: 0 });
  const sequences: SequenceResult[] = ordered.map((c) => ({
    text: c.text,
    token_ids: c.ids,
    finish_reason: finishReason(c, aborted, options.stop),
  }));
  const counted = ordered.reduce((a, c) => a + (c.ids.length || c.chunks), 0);
  const completion = usage?.completion_tokens ?? counted;
  const prompt = usage?.prompt_tokens ?? 0;
  const decodeMs = first ? last - first : 0;
  const perSequence = ordered[0].ids.length || ordered[0].chunks;
  return {
    type: 'done',
    reason: sequences[0].finish_reason,
    sequences,
    stats: {
      promptTokens: prompt,
      cachedTokens: 0,
      completionTokens: completion,
      ttftMs: first ? first - start : 0,
      prefillMs: first ? first - start : 0,
      decodeMs,
      promptTokensPerSecond: first ? (prompt / (first - start)) * 1000 : 0,
      tokensPerSecond: decodeMs > 0 ? ((perSequence - 1) / decodeMs) * 1000 : 0,
      contextUsed: prompt + perSequence,
      contextLength: options.contextLength,
    },
  };
}
