/**
 * Formats generation stats for --verbose (stderr, like `ollama --verbose`) and for --json timings.
 */
import type { GenerationStats } from '../generation/index.js';

const ms = (x: number) => `${x.toFixed(1)}ms`;

/** Human-readable stats lines. */
export function formatVerboseStats(s: GenerationStats, loadMs?: number): string {
  const lines = [
    ...(loadMs === undefined ? [] : [`load duration:        ${ms(loadMs)}`]),
    `prompt eval count:    ${s.promptTokens} token(s)${s.cachedTokens ? ` (+${s.cachedTokens} cached)` : ''}`,
    `prompt eval duration: ${ms(s.prefillMs)}`,
    `prompt eval rate:     ${s.promptTokensPerSecond.toFixed(2)} tokens/s`,
    `time to first token:  ${ms(s.ttftMs)}`,
    `eval count:           ${s.completionTokens} token(s)`,
    `eval duration:        ${ms(s.decodeMs)}`,
    `eval rate:            ${s.tokensPerSecond.toFixed(2)} tokens/s`,
    `context:              ${s.contextUsed}/${s.contextLength}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The timings object of --json output. */
export function timingsJson(s: GenerationStats, loadMs?: number): Record<string, number> {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    ...(loadMs === undefined ? {} : { load_ms: round(loadMs) }),
    ttft_ms: round(s.ttftMs),
    prefill_ms: round(s.prefillMs),
    decode_ms: round(s.decodeMs),
    prompt_tokens_per_second: round(s.promptTokensPerSecond),
    tokens_per_second: round(s.tokensPerSecond),
  };
}
