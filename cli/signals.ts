/**
 * Stopping a command: the first Ctrl-C (SIGINT) or SIGTERM aborts the running command through an
 * AbortSignal — generation stops within one decode step, flushes what it produced, and the process
 * exits 130. A reader that closes the pipe (`textgen generate | head -c 20`) aborts the same way but
 * exits 0. A second Ctrl-C restores the default action and re-raises the signal, so the shell sees a
 * process killed by SIGINT; calling process.exit() instead would tear down the model worker in the
 * middle of onnxruntime's run() and abort the process.
 */

/** Why the command was stopped. */
export type StopReason = 'signal' | 'pipe';

/** The abort signal plus how it was triggered. */
export interface Stopper {
  signal: AbortSignal;
  /** Undefined while the command runs normally. */
  reason(): StopReason | undefined;
  /** Aborts for the given reason (the first reason wins). */
  stop(reason: StopReason): void;
  dispose(): void;
}

/** Installs SIGINT/SIGTERM handlers and returns the stopper they trigger. */
export function installSignals(): Stopper {
  const controller = new AbortController();
  let why: StopReason | undefined;
  const stop = (reason: StopReason) => {
    if (why) return;
    why = reason;
    controller.abort(new Error(reason === 'pipe' ? 'output closed' : 'interrupted'));
  };
  const onSignal = (name: NodeJS.Signals) => {
    if (why === 'signal') {
      process.removeAllListeners(name);
      process.kill(process.pid, name);
      return;
    }
    stop('signal');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    reason: () => why,
    stop,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
