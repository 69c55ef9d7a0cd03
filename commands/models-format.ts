/**
 * Text formatting for `textgen models`: sizes, durations and aligned tables.
 */
import { COMMIT_HASH } from '../models-cache/layout.js';

/** Bytes as a short human size (1024-based, like `du -h`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Seconds as `1m05s` / `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Left-aligned columns separated by two spaces; the first row is the header. */
export function renderTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i])))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** How a revision is shown: its refs and the short commit, e.g. `main (3f2a9c1)`. */
export function formatRevision(refs: string[], commit: string): string {
  const short = COMMIT_HASH.test(commit) ? commit.slice(0, 7) : commit;
  return refs.length ? `${refs.join(',')} (${short})` : short;
}

/** Indents every non-empty line. */
export function indent(text: string, prefix = '  '): string {
  return text.replace(/^(?=.)/gm, prefix);
}
