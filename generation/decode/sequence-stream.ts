/**
 * The text side of one generated sequence: ids → stable text deltas (streaming detokenizer) →
 * transformers' tokenization clean-up when the tokenizer asks for it → stop strings held back and cut →
 * the visible text. The decode loops own one per returned sequence.
 */
import type { FinishReason, SequenceResult } from '../events.js';
import { CleanupStream } from '../tokenizer/cleanup-stream.js';
import { StreamingDetokenizer, type DecodeFn } from '../tokenizer/detokenizer.js';
import { StopStringMatcher } from './stop-strings.js';

/** Visible text and ids of one sequence as it grows. */
export class SequenceStream {
  readonly ids: number[] = [];
  text = '';
  finishReason?: FinishReason;
  private readonly detok: StreamingDetokenizer;
  private readonly stops?: StopStringMatcher;
  private readonly cleanup?: CleanupStream;

  /** `decode` must not apply the clean-up itself (`cleanup` says whether this stream should). */
  constructor(
    decode: DecodeFn,
    contextIds: ArrayLike<number>,
    stopStrings: readonly string[],
    cleanup = false,
  ) {
    this.detok = new StreamingDetokenizer(decode, contextIds);
    this.stops = stopStrings.length ? new StopStringMatcher(stopStrings) : undefined;
    this.cleanup = cleanup ? new CleanupStream() : undefined;
  }

  /** Whether the sequence has finished. */
  get done(): boolean {
    return this.finishReason !== undefined;
  }

  /**
   * Adds a generated token (EOS included in ids, never in text) and returns the visible text delta.
   * A completed stop string finishes the sequence with reason 'stop'.
   */
  push(id: number, isEos: boolean): string {
    this.ids.push(id);
    if (isEos) {
      const tail = this.emit(this.detok.flush(), true);
      this.finishReason ??= 'eos';
      return tail;
    }
    return this.emit(this.detok.push(id), false);
  }

  /** Ends the sequence for `reason` and returns any held-back text. */
  finish(reason: FinishReason): string {
    if (this.done) return '';
    const tail = this.emit(this.detok.flush(), true);
    this.finishReason ??= reason;
    return tail;
  }

  private emit(raw: string, final: boolean): string {
    const delta = this.cleanup ? this.cleanup.push(raw) + (final ? this.cleanup.flush() : '') : raw;
    if (!this.stops) {
      this.text += delta;
      return delta;
    }
    const step = this.stops.push(delta);
    let out = step.emit;
    if (step.stopped) this.finishReason = 'stop';
    else if (final) out += this.stops.flush();
    this.text += out;
    return out;
  }

  /** The result entry for `done`. */
  result(score?: number): SequenceResult {
    return {
      text: this.text,
      token_ids: this.ids.slice(),
      finish_reason: this.finishReason ?? 'length',
      ...(score === undefined ? {} : { score }),
    };
  }
}
