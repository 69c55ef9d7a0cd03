/**
 * Ctrl-C handling: the first SIGINT aborts the running command through an AbortSignal (generation
 * flushes what it produced and the process exits 130); a second SIGINT exits at once.
 */
import { ExitCode } from '../generation/errors.js';

/** Installs SIGINT/SIGTERM handlers and returns the signal they abort plus a disposer. */
export function installSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(name === 'SIGINT' ? ExitCode.interrupted : 143);
    controller.abort(new Error(`Received ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
