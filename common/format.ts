/**
 * The one formatter for sizes, rates and durations that people read (progress lines, tables, the
 * TUI). A leaf module: it imports nothing, so models-cache/, commands/, ui/ and the core may all use
 * it. Sizes are 1024-based and say so (KiB, MiB, GiB: `du -h` and ls -h count the same way).
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Three significant digits at most, never an exponent: 1.23, 12.3, 123, 1023. */
function short(value: number): string {
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1).replace(/\.0$/, '');
  return value.toFixed(2).replace(/\.?0+$/, '');
}

/** Bytes as `512 B`, `1.5 KiB`, `12.3 MiB`, `3 GiB`; whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // 1023.7 KiB rounds to "1024 KiB": carry into the next unit instead.
  if (Math.round(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${short(value)} ${UNITS[unit]}`;
}

/** A transfer rate in bytes per second, e.g. `474 B/s`, `2.5 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * A duration in seconds for people: `0.4s`, `42s`, `1m05s`, `2h03m`; `?` when unknown (an ETA
 * before any progress).
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10 && seconds !== Math.round(seconds))
    return `${seconds.toFixed(1).replace(/\.0$/, '')}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A count with thousands separators, e.g. `1,640,000` (the same in every locale). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
