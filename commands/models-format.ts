/**
 * Text formatting for `textgen models`: aligned tables and revisions (sizes and durations re-exported).
 */
import { COMMIT_HASH } from '../models-cache/layout.js';

// Sizes and durations come from the one formatter (common/format.ts); re-exported for the models commands.
export { formatBytes, formatDuration } from '../common/format.js';

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
