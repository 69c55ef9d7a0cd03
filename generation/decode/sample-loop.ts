/**
 * The decode loop for greedy and multinomial sampling over any {@link StepModel}: start a batch of
 * prompts, expand each to num_return_sequences rows (one batched run, not N runs), then one forward per
 * token for the whole batch. Finished rows are fed the pad token, as transformers does. Abort is checked
 * between steps, so it takes effect within one decode step. With settings.logprobs > 0 each chosen
 * token's log-probability is read from the row it was chosen from (after every processor and warper).
 */
import type { GenerationEvent, TokenLogprob } from '../events.js';
import type { GenerationSettings } from '../settings.js';
import { buildLogitsProcessors } from '../processors/build.js';
import { createSampler } from '../processors/sampler.js';
import { tokenLogprob } from './logprobs.js';
import { SequenceStream } from './sequence-stream.js';
import { StatsClock } from './stats.js';
import type { StepModel } from './step-model.js';

/** Model facts the loop needs besides the step model. */
export interface LoopModel {
  step: StepModel;
  /** Decodes ids without transformers' clean-up (skipping special tokens). */
  decode: (ids: number[]) => string;
  /** Whether the visible text gets transformers' clean_up_tokenization. */
  cleanup?: boolean;
  /** One token's own text, special tokens included (for logprobs). */
  tokenText?: (id: number) => string;
  contextLength: number;
  eosTokenIds: number[];
  padTokenId: number;
}

/** One call: tokenized prompts sharing settings. */
export interface LoopRequest {
  prompts: number[][];
  settings: GenerationSettings;
  isAborted: () => boolean;
  /** Prompt positions served from a reused cache (stats only). */
  cachedTokens?: () => number;
}

/** Rows ordered prompt-major: prompt i's sequences are rows i*n .. i*n+n-1. */
export function expandRows(count: number, n: number): number[] {
  return Array.from({ length: count * n }, (_, r) => Math.floor(r / n));
}

/** Copies logits rows: new row i is old row rows[i]. */
export function copyRows(logits: Float32Array, rows: number[], vocab: number): Float32Array {
  const out = new Float32Array(rows.length * vocab);
  rows.forEach((r, i) => out.set(logits.subarray(r * vocab, (r + 1) * vocab), i * vocab));
  return out;
}

/** The largest max_new_tokens that keeps every row inside the context window. */
export function newTokenBudget(model: LoopModel, prompts: number[][], requested: number): number {
  const used = Math.max(...prompts.map((p) => model.step.used(p)));
  return Math.max(0, Math.min(requested, model.contextLength - used));
}

/** Runs greedy or multinomial decoding and yields token, stats and done events. */
export async function* sampleLoop(
  model: LoopModel,
  request: LoopRequest,
): AsyncGenerator<GenerationEvent> {
  const { settings, prompts } = request;
  const clock = new StatsClock(model.contextLength);
  const maxNew = newTokenBudget(model, prompts, settings.max_new_tokens);
  const n = settings.num_return_sequences;
  const origin = expandRows(prompts.length, n);
  const streams = origin.map(
    (p) =>
      new SequenceStream(
        model.decode,
        model.step.textContext(prompts[p]),
        settings.stop,
        model.cleanup,
      ),
  );
  const ids = origin.map((p) => model.step.startIds(prompts[p]));
  const startLength = ids.map((x) => x.length);
  const processors = buildLogitsProcessors(settings, {
    eosTokenIds: model.eosTokenIds,
    vocabSize: model.step.vocabSize,
  });
  const sampler = createSampler(settings);
  const eos = new Set(model.eosTokenIds);
  const vocab = model.step.vocabSize;
  const topLogprobs = settings.logprobs ?? 0;
  const logprobs = topLogprobs > 0 ? origin.map((): TokenLogprob[] => []) : undefined;

  clock.startPrefill();
  let logits = maxNew > 0 ? await model.step.start(prompts) : new Float32Array(0);
  if (n > 1 && maxNew > 0) {
    model.step.reorder(origin);
    logits = copyRows(logits, origin, vocab);
  }
  clock.endPrefill();
  clock.cached = request.cachedTokens?.() ?? 0;
  clock.prompt = prompts.reduce((a, p) => a + p.length, 0) - clock.cached;

  const next = new Array<number>(origin.length);
  let aborted = false;
  // One context per row for the whole call: its ids array grows in place, so steps allocate nothing.
  const contexts = origin.map((_, r) => ({
    ids: ids[r],
    promptLength: startLength[r],
    maxLength: startLength[r] + maxNew,
  }));
  for (let step = 0; step < maxNew; step++) {
    for (let r = 0; r < origin.length; r++) {
      if (streams[r].done) {
        next[r] = model.padTokenId;
        continue;
      }
      const row = logits.subarray(r * vocab, (r + 1) * vocab);
      for (const p of processors) p.apply(row, contexts[r]);
      const token = sampler.sample(row);
      const logprob = logprobs ? tokenLogprob(row, token, topLogprobs, model.tokenText) : undefined;
      if (logprob) logprobs![r].push(logprob);
      next[r] = token;
      ids[r].push(token);
      clock.token();
      const text = streams[r].push(token, eos.has(token));
      yield { type: 'token', sequence: r, id: token, text, ...(logprob && { logprob }) };
    }
    if (streams.every((s) => s.done) || step === maxNew - 1) break;
    if (request.isAborted()) {
      aborted = true;
      break;
    }
    logits = await model.step.step(next);
  }
  for (let r = 0; r < streams.length; r++) {
    const tail = streams[r].finish(aborted ? 'aborted' : 'length');
    if (tail) yield { type: 'token', sequence: r, id: -1, text: tail };
  }
  clock.contextUsed = model.step.used(prompts[0]) + streams[0].ids.length;
  const stats = clock.stats();
  yield { type: 'stats', stats };
  yield {
    type: 'done',
    // Rows that ended before the interruption keep their reason; the call as a whole was aborted.
    reason: aborted ? 'aborted' : (streams[0].finishReason ?? 'length'),
    sequences: streams.map((s, r) =>
      logprobs ? { ...s.result(), logprobs: logprobs[r] } : s.result(),
    ),
    stats,
  };
}
