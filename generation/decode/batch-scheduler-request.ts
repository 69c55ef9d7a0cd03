/**
 * One request inside the continuous-batching scheduler: its num_return_sequences rows, their logits
 * processors, sampler, text streams, log-probabilities and timing. It does per row what sampleLoop does
 * per row (same processors, same sampler drawing rows in order, same stream and stats rules), so a
 * request decoded among others produces what `generate` produces alone; the scheduler only decides
 * which batch row each sequence occupies.
 */
import type { GenerationEvent, TokenLogprob } from '../events.js';
import type { GenerationSettings } from '../settings.js';
import { buildLogitsProcessors } from '../processors/build.js';
import { createSampler, type Sampler } from '../processors/sampler.js';
import type { LogitsProcessor } from '../processors/types.js';
import { tokenLogprob } from './logprobs.js';
import { SequenceStream } from './sequence-stream.js';
import { StatsClock } from './stats.js';

/** The model facts a request needs (the loop's LoopModel without the step model). */
export interface BatchModelFacts {
  vocabSize: number;
  /** Decodes ids without transformers' clean-up (skipping special tokens). */
  decode: (ids: number[]) => string;
  cleanup?: boolean;
  contextLength: number;
}

/** A tokenized request as the scheduler receives it. */
export interface BatchJob {
  prompt: number[];
  /** Resolved settings with eos_token_id filled in; num_beams must be 1. */
  settings: GenerationSettings & { eos_token_id: number[] };
  isAborted: () => boolean;
}

/** The decoding state of one request's sequences. */
export class BatchRequest {
  readonly clock: StatsClock;
  readonly maxNew: number;
  readonly streams: SequenceStream[];
  /** Tokens generated per sequence so far (all sequences advance together). */
  steps = 0;
  /** The token each sequence feeds next. */
  readonly next: number[];
  private readonly ids: number[][];
  private readonly contexts: Array<{ ids: number[]; promptLength: number; maxLength: number }>;
  private readonly processors: LogitsProcessor[];
  private readonly sampler: Sampler;
  private readonly eos: Set<number>;
  private readonly logprobs?: TokenLogprob[][];
  private finished = false;

  constructor(
    readonly job: BatchJob,
    private readonly facts: BatchModelFacts,
    private readonly emit: (event: GenerationEvent) => void,
  ) {
    const { settings, prompt } = job;
    this.clock = new StatsClock(facts.contextLength);
    this.maxNew = Math.max(
      0,
      Math.min(settings.max_new_tokens, facts.contextLength - prompt.length),
    );
    const n = settings.num_return_sequences;
    this.streams = Array.from(
      { length: n },
      () => new SequenceStream(facts.decode, prompt, settings.stop, facts.cleanup),
    );
    this.ids = this.streams.map(() => prompt.slice());
    this.contexts = this.ids.map((ids) => ({
      ids,
      promptLength: prompt.length,
      maxLength: prompt.length + this.maxNew,
    }));
    // Built here so a bad logit_bias id fails the request before it takes a row.
    this.processors = buildLogitsProcessors(settings, {
      eosTokenIds: settings.eos_token_id,
      vocabSize: facts.vocabSize,
    });
    this.sampler = createSampler(settings);
    this.eos = new Set(settings.eos_token_id);
    this.next = this.streams.map(() => -1);
    const top = settings.logprobs ?? 0;
    this.logprobs = top > 0 ? this.streams.map(() => []) : undefined;
  }

  /** Sequences this request decodes. */
  get size(): number {
    return this.streams.length;
  }

  /** Whether sequence `seq` still needs a batch row. */
  live(seq: number): boolean {
    return !this.finished && !this.streams[seq].done && this.steps < this.maxNew;
  }

  /** Whether every sequence is done (the request can be completed). */
  get complete(): boolean {
    return this.finished || this.steps >= this.maxNew || this.streams.every((s) => s.done);
  }

  /**
   * Chooses the next token of sequence `seq` from its logits row (processed in place) and emits it.
   * Call it for every live sequence of the request in sequence order, then {@link endStep}.
   */
  pick(seq: number, row: Float32Array): void {
    const context = this.contexts[seq];
    for (const p of this.processors) p.apply(row, context);
    const token = this.sampler.sample(row);
    const logprob = this.logprobs
      ? tokenLogprob(row, token, this.job.settings.logprobs!)
      : undefined;
    if (logprob) this.logprobs![seq].push(logprob);
    this.next[seq] = token;
    this.ids[seq].push(token);
    this.clock.token();
    const text = this.streams[seq].push(token, this.eos.has(token));
    this.emit({ type: 'token', sequence: seq, id: token, text, ...(logprob && { logprob }) });
  }

  /** Marks the end of one decode step for this request. */
  endStep(): void {
    this.steps++;
  }

  /** Emits the held-back text, stats and done events (once). */
  finish(aborted: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.streams.forEach((stream, seq) => {
      const tail = stream.finish(aborted ? 'aborted' : 'length');
      if (tail) this.emit({ type: 'token', sequence: seq, id: -1, text: tail });
    });
    this.clock.prompt = this.job.prompt.length;
    this.clock.contextUsed = this.job.prompt.length + this.streams[0].ids.length;
    const stats = this.clock.stats();
    this.emit({ type: 'stats', stats });
    this.emit({
      type: 'done',
      reason: this.streams[0].finishReason ?? 'length',
      sequences: this.streams.map((s, seq) =>
        this.logprobs ? { ...s.result(), logprobs: this.logprobs[seq] } : s.result(),
      ),
      stats,
    });
  }
}
