/**
 * Timing for one generate() call: prefill, time to first token and decode rate, measured with the
 * monotonic clock.
 */
import type { GenerationStats } from '../events.js';

/** Collects the figures of {@link GenerationStats} as the loop runs. */
export class StatsClock {
  prompt = 0;
  cached = 0;
  completion = 0;
  contextUsed = 0;
  private readonly start = performance.now();
  private prefillStart = 0;
  private prefillEnd = 0;
  private first = 0;
  private last = 0;

  constructor(private readonly contextLength: number) {}

  /** Marks the start of prefill. */
  startPrefill(): void {
    this.prefillStart = performance.now();
  }

  /** Marks the end of prefill. */
  endPrefill(): void {
    this.prefillEnd = performance.now();
  }

  /** Counts one generated token. */
  token(): void {
    const now = performance.now();
    if (this.completion === 0) this.first = now;
    this.last = now;
    this.completion++;
  }

  /** The figures so far. */
  stats(): GenerationStats {
    const prefillMs = this.prefillEnd - this.prefillStart;
    const decodeMs = this.completion > 1 ? this.last - this.first : 0;
    return {
      promptTokens: this.prompt,
      cachedTokens: this.cached,
      completionTokens: this.completion,
      ttftMs: this.completion ? this.first - this.start : 0,
      prefillMs,
      decodeMs,
      promptTokensPerSecond: prefillMs > 0 ? (this.prompt / prefillMs) * 1000 : 0,
      tokensPerSecond: decodeMs > 0 ? ((this.completion - 1) / decodeMs) * 1000 : 0,
      contextUsed: this.contextUsed,
      contextLength: this.contextLength,
    };
  }
}
