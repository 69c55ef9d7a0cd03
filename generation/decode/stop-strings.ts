/**
 * Streaming stop-string matcher. Text arrives in arbitrary deltas (one per token); a stop string may
 * span several of them. The matcher emits text as soon as it cannot be the start of a stop string,
 * holds back only the longest suffix that is a proper prefix of some stop string, and cuts the text
 * where the first stop string completes; the stop string itself is never emitted.
 *
 * "First" is by end position: the stop that completes earliest while reading left to right wins, and
 * among stops completing at the same character the longest (earliest-starting) one is cut. This makes
 * the result independent of how the text was split into deltas.
 */

/** What one push produced. */
export interface StopStep {
  /** Text now safe to show. */
  emit: string;
  /** Whether a stop string completed (nothing more will be emitted). */
  stopped: boolean;
}

/** Matches a fixed set of non-empty stop strings across streamed deltas. */
export class StopStringMatcher {
  private readonly stops: readonly string[];
  private held = '';
  private stoppedFlag = false;
  /** The stop string that ended the text, once stopped. */
  matched?: string;

  constructor(stops: readonly string[]) {
    if (stops.some((s) => s.length === 0)) throw new RangeError('stop strings must be non-empty');
    this.stops = stops;
  }

  /** Whether a stop string has completed. */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** Adds a text delta; returns the text that can be shown now. After a stop, always `{ '', true }`. */
  push(delta: string): StopStep {
    if (this.stoppedFlag) return { emit: '', stopped: true };
    const text = this.held + delta;
    const hit = this.firstStop(text);
    if (hit) {
      this.stoppedFlag = true;
      this.matched = hit.stop;
      this.held = '';
      return { emit: text.slice(0, hit.start), stopped: true };
    }
    const keep = this.heldSuffixLength(text);
    this.held = text.slice(text.length - keep);
    return { emit: text.slice(0, text.length - keep), stopped: false };
  }

  /** Ends the stream: returns the held-back text (it never completed a stop string). */
  flush(): string {
    const rest = this.stoppedFlag ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** The stop with the smallest end index in `text` (ties: the longest), if any. */
  private firstStop(text: string): { start: number; stop: string } | undefined {
    let best: { start: number; end: number; stop: string } | undefined;
    for (const stop of this.stops) {
      const start = text.indexOf(stop);
      if (start < 0) continue;
      const end = start + stop.length;
      if (!best || end < best.end || (end === best.end && start < best.start))
        best = { start, end, stop };
    }
    return best && { start: best.start, stop: best.stop };
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private heldSuffixLength(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, text.length); k > longest; k--) {
        if (text.endsWith(stop.slice(0, k))) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }
}
