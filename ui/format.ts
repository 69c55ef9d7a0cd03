/**
 * Small formatting helpers for the TUI: sizes, durations, rates and the status line text.
 */
import type { GenerationStats } from '../generation/events.js';

/** Bytes as B/KB/MB/GB with one decimal above KB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

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
