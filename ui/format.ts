/**
 * The status line text of the TUI (sizes come from common/format.ts).
 */
import type { GenerationStats } from '../generation/events.js';

// Sizes come from the one formatter (common/format.ts); re-exported for the picker.
export { formatBytes } from '../common/format.js';

/** The status line's fields. */
export interface StatusFields {
  model: string;
  device: string;
  contextLength: number;
  /** Stats of the last reply, if any. */
  stats?: GenerationStats;
  busy: boolean;
}

/** `model · device · ctx used/len (reused N) · TTFT · tok/s`, with dashes before the first reply. */
export function statusText(f: StatusFields): string {
  const used = f.stats ? f.stats.contextUsed : 0;
  const ttft = f.stats ? `${Math.round(f.stats.ttftMs)} ms` : '—';
  const rate = f.stats ? `${f.stats.tokensPerSecond.toFixed(1)} tok/s` : '— tok/s';
  // "reused" shows the KV-cache prefix the core kept from the previous turn.
  const reused = f.stats?.cachedTokens ? ` (reused ${f.stats.cachedTokens})` : '';
  const parts = [
    f.model,
    f.device,
    `ctx ${used}/${f.contextLength}${reused}`,
    `TTFT ${ttft}`,
    rate,
  ];
  if (f.busy) parts.push('generating… (Ctrl-C stops)');
  return parts.join(' · ');
}
