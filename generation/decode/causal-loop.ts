/**
 * The decode loop for causal LMs (greedy and sampling): prefill a left-padded batch of prompts, expand
 * each prompt to num_return_sequences rows, then one forward per token for the whole batch. Events are
 * yielded as tokens become visible text; abort is checked between steps (within one decode step).
 */
import type { GenerationEvent } from '../events.js';
import type { GenerationSettings } from '../settings.js';
import type { DecoderRunner, DecoderState } from '../runtime/decoder-runner.js';
import { buildLogitsProcessors } from '../processors/build.js';
import { createSampler } from '../processors/sampler.js';
import { SequenceStream } from './sequence-stream.js';
import { StatsClock } from './stats.js';

/** What the loop needs from the loaded model. */
export interface CausalModel {
  runner: DecoderRunner;
  decode: (ids: number[]) => string;
  contextLength: number;
  eosTokenIds: number[];
  padTokenId: number;
}

/** One call's input: prompts already tokenized (equal settings for all rows). */
export interface CausalRequest {
  prompts: number[][];
  settings: GenerationSettings;
  isAborted: () => boolean;
  /** A state whose first `reuse` positions already hold prompts[0]'s prefix (chat cache reuse). */
  reuse?: { state: DecoderState; length: number };
}

/** The loop's outcome besides its events: the state (for cache reuse) and per-row ids. */
export interface CausalOutcome {
  state: DecoderState;
  /** Ids whose K/V are in the state for row 0 (prompt + generated tokens fed back). */
  cachedIds: number[];
}

/** Left-pads prompts to equal length; returns tokens and mask rows. */
export function leftPad(prompts: number[][], pad: number): { tokens: number[][]; masks: number[][] } {
  const width = Math.max(...prompts.map((p) => p.length));
  return {
    tokens: prompts.map((p) => [...new Array(width - p.length).fill(pad), ...p]),
    masks: prompts.map((p) => [...new Array(width - p.length).fill(0), ...p.map(() => 1)]),
  };
}

/** Runs greedy or multinomial decoding and yields token/stats/done events. */
export async function* causalLoop(model: CausalModel, request: CausalRequest, outcome: Partial<CausalOutcome> = {}): AsyncGenerator<GenerationEvent> {
  const { settings, prompts } = request;
  const clock = new StatsClock(model.contextLength);
  const longest = Math.max(...prompts.map((p) => p.length));
  const maxNew = Math.min(settings.max_new_tokens, model.contextLength - longest);
  const n = settings.num_return_sequences;
  const rows = prompts.flatMap((p) => new Array(n).fill(p) as number[][]);
  const streams = rows.map((p) => new SequenceStream(model.decode, p, settings.stop));
  const processors = buildLogitsProcessors(settings, { eosTokenIds: model.eosTokenIds, vocabSize: model.runner.vocabSize });
  const sampler = createSampler(settings);
  const eos = new Set(model.eosTokenIds);

  let state: DecoderState;
  let logits: Float32Array;
  clock.startPrefill();
  if (request.reuse) {
    state = request.reuse.state;
    state.rewind(request.reuse.length);
    logits = await model.runner.forward(state, [prompts[0].slice(request.reuse.length)]);
    clock.cached = request.reuse.length;
    clock.prompt = prompts[0].length - request.reuse.length;
  } else {
    const { tokens, masks } = leftPad(prompts, model.padTokenId);
    state = model.runner.newState(prompts.length, model.contextLength);
    logits = await model.runner.forward(state, tokens, masks);
    clock.prompt = prompts.reduce((a, p) => a + p.length, 0);
  }
  if (n > 1) {
    const expand = prompts.flatMap((_, i) => new Array(n).fill(i) as number[]);
    state.reorder(expand);
    logits = expandRows(logits, expand, model.runner.vocabSize);
  }
  clock.endPrefill();
  outcome.state = state;

  const vocab = model.runner.vocabSize;
  const ids = rows.map((p) => p.slice());
  const next = new Array<number>(rows.length);
  for (let step = 0; step < maxNew; step++) {
    for (let r = 0; r < rows.length; r++) {
      if (streams[r].done) {
        next[r] = model.padTokenId;
        continue;
      }
      const row = logits.subarray(r * vocab, (r + 1) * vocab);
      for (const p of processors) p.apply(row, { ids: ids[r], promptLength: rows[r].length, maxLength: rows[r].length + maxNew });
      const token = sampler.sample(row);
      next[r] = token;
      ids[r].push(token);
      const text = streams[r].push(token, eos.has(token));
      clock.token();
      yield { type: 'token', sequence: r, id: token, text };
    }
    if (streams.every((s) => s.done) || step === maxNew - 1) break;
    if (request.isAborted()) {
      for (const s of streams) flushInto(s, 'aborted');
      break;
    }
    logits = await model.runner.forward(state, next.map((t) => [t]));
  }
  const tails = streams.map((s) => s.finish('length'));
  for (let r = 0; r < tails.length; r++) if (tails[r]) yield { type: 'token', sequence: r, id: -1, text: tails[r] };
  outcome.cachedIds = [...ids[0]].slice(0, state.length);
  clock.contextUsed = ids[0].length;
  const stats = clock.stats();
  yield { type: 'stats', stats };
  yield { type: 'done', reason: streams[0].finishReason ?? 'length', sequences: streams.map((s) => s.result()), stats };
}

function flushInto(stream: SequenceStream, reason: 'aborted'): void {
  stream.finish(reason);
}

function expandRows(logits: Float32Array, rows: number[], vocab: number): Float32Array {
  const out = new Float32Array(rows.length * vocab);
  rows.forEach((r, i) => out.set(logits.subarray(r * vocab, (r + 1) * vocab), i * vocab));
  return out;
}
