/**
 * The one progress-bar helper (pull, perplexity, train): a bar drawn from a fraction, and a line
 * that a terminal redraws in place (throttled) while logs and pipes get a plain line now and then.
 * Callers compose the text; this module owns the drawing, the throttling and the clean-up.
 */

/** `[######------]`: `width` cells, filled in proportion to `fraction` (clamped to 0..1). */
export function progressBar(fraction: number, width = 24): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** Where progress goes: stderr, with isTTY when it is a terminal. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

/** Options of {@link progressLine}. */
export interface ProgressLineOptions {
  /** Milliseconds between redraws on a terminal (default 100). */
  drawEveryMs?: number;
  /** Milliseconds between plain lines when not a terminal; Infinity for none (default 10 s). */
  plainEveryMs?: number;
  /** Nothing is drawn until this many milliseconds have passed (short jobs stay quiet; default 0). */
  quietForMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** A progress line on one stream. */
export interface ProgressLine {
  /** Offers the current text; drawn when the throttle allows, or always with `force`. */
  update(text: string, force?: boolean): void;
  /** Prints a permanent line (the bar, if drawn, is erased first and redrawn by the next update). */
  log(text: string): void;
  /** Erases the bar on a terminal; then prints `final` (if any) as a permanent line. */
  done(final?: string): void;
}

/** Creates a progress line on `stream`: redrawn with `\r` + erase on a terminal, plain lines elsewhere. */
export function progressLine(
  stream: ProgressStream,
  options: ProgressLineOptions = {},
): ProgressLine {
  const tty = stream.isTTY === true;
  const now = options.now ?? Date.now;
  const drawEvery = options.drawEveryMs ?? 100;
  const plainEvery = options.plainEveryMs ?? 10_000;
  const started = now();
  // A terminal shows the first update at once; a log's first plain line waits one interval.
  let last = tty ? -Infinity : started;
  let drawn = false;
  const erase = () => {
    if (drawn) stream.write('\r\x1b[K');
    drawn = false;
  };
  return {
    update(text, force = false) {
      const t = now();
      if (!force && t - started < (options.quietForMs ?? 0)) return;
      if (tty) {
        if (!force && t - last < drawEvery) return;
        last = t;
        stream.write(`\r\x1b[K${text}`);
        drawn = true;
      } else {
        if (!force && t - last < plainEvery) return;
        last = t;
        stream.write(`${text}\n`);
      }
    },
    log(text) {
      erase();
      stream.write(`${text}\n`);
    },
    done(final) {
      erase();
      if (final !== undefined) stream.write(`${final}\n`);
    },
  };
}
