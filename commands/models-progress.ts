/**
 * Download progress for `textgen models pull` on stderr: a redrawn bar with bytes, rate and ETA in a
 * terminal, plain lines otherwise (logs and CI).
 */
import type { PullEvent } from '../models-cache/pull.js';
import { formatBytes, formatDuration, formatRate } from '../common/format.js';
import { progressBar, progressLine } from '../common/progress.js';

interface FileState {
  size: number;
  resumeFrom: number;
  started: number;
  lastPlain: number;
  done: number;
  finished?: boolean;
}

const PLAIN_EVERY_MS = 10_000;
const BIG_FILE = 1 << 20;

/** Turns pull events into progress output on `stderr`; `clock` (ms) is there for tests. */
export function progressReporter(
  stderr: NodeJS.WritableStream & { isTTY?: boolean },
  clock: () => number = Date.now,
): (event: PullEvent) => void {
  const tty = Boolean(stderr.isTTY);
  const files = new Map<string, FileState>();
  // The one progress line: a terminal's bar is redrawn in place and erased before permanent lines.
  const line = progressLine(stderr, { now: clock, plainEveryMs: Infinity });
  const write = (text: string) => line.log(text.replace(/\n$/, ''));
  const rateOf = (state: FileState, done: number) =>
    (done - state.resumeFrom) / Math.max((clock() - state.started) / 1000, 1e-3);
  /** Files download in parallel: a terminal gets one line for all of them. */
  const drawAll = () => {
    const active = [...files.entries()].filter(([, f]) => !f.finished);
    if (active.length === 0) return;
    const size = active.reduce((a, [, f]) => a + f.size, 0);
    const done = active.reduce((a, [, f]) => a + f.done, 0);
    const rate = active.reduce((a, [, f]) => a + rateOf(f, f.done), 0);
    const eta = rate > 0 ? (size - done) / rate : Infinity;
    const pct = size ? Math.floor((done / size) * 100) : 100;
    const name = active.length === 1 ? active[0][0] : `${active.length} files`;
    line.update(
      `  ${name}  ${progressBar(pct / 100)} ${String(pct).padStart(3)}%  ${formatBytes(done)}/${formatBytes(size)}  ${formatRate(rate)}  ETA ${formatDuration(eta)}`,
    );
  };
  return (event) => {
    switch (event.type) {
      case 'waiting-for-lock':
        write(
          `Waiting for another pull of this model to finish${event.pid ? ` (pid ${event.pid})` : ''}...\n`,
        );
        break;
      case 'revision':
        write(`Revision ${event.commit}\n`);
        break;
      case 'file-cached':
        write(`  ${event.file}  ${formatBytes(event.size)}  already in the cache\n`);
        break;
      case 'file-start': {
        const now = clock();
        files.set(event.file, {
          size: event.size,
          resumeFrom: event.resumeFrom,
          started: now,
          lastPlain: now,
          done: event.resumeFrom,
        });
        // Small files finish at once; a start line is only worth it for big or resumed ones.
        if (!tty && (event.resumeFrom > 0 || event.size >= BIG_FILE)) {
          write(
            `Downloading ${event.file} (${formatBytes(event.size)})${event.resumeFrom ? `, resuming at ${formatBytes(event.resumeFrom)}` : ''}\n`,
          );
        }
        break;
      }
      case 'file-progress': {
        const state = files.get(event.file);
        if (!state) break;
        const now = clock();
        state.done = event.done;
        const rate = rateOf(state, event.done);
        const eta = rate > 0 ? (event.size - event.done) / rate : Infinity;
        const pct = event.size ? Math.floor((event.done / event.size) * 100) : 100;
        if (tty) {
          drawAll();
        } else if (now - state.lastPlain >= PLAIN_EVERY_MS) {
          state.lastPlain = now;
          write(
            `  ${event.file}: ${pct}% (${formatBytes(event.done)} of ${formatBytes(event.size)}, ${formatRate(rate)}, ETA ${formatDuration(eta)})\n`,
          );
        }
        break;
      }
      case 'file-retry':
        write(
          `  ${event.file}: interrupted at ${formatBytes(event.done)} (${event.error.replace(/\.$/, '')}); retrying\n`,
        );
        break;
      case 'file-done': {
        const state = files.get(event.file);
        if (state) state.finished = true;
        const seconds = state ? (clock() - state.started) / 1000 : 0;
        const rate = seconds > 0 ? event.fetched / seconds : 0;
        write(
          `  ${event.file}  ${formatBytes(event.size)}  downloaded${seconds > 0 ? ` in ${formatDuration(seconds)} (${formatRate(rate)})` : ''}\n`,
        );
        break;
      }
    }
  };
}
