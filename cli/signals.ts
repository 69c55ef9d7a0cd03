/**
 * Stopping a command: the first Ctrl-C (SIGINT) or SIGTERM aborts the running command through an
 * AbortSignal — generation stops within one decode step, flushes what it produced, and the process
 * exits 130 (SIGINT) or 143 (SIGTERM), the codes a shell gives a process killed by them. A reader that
 * closes the pipe (`textgen generate | head -c 20`) aborts the same way but exits 0; a stdout that
 * fails otherwise aborts and exits 8. A second signal restores the default action and re-raises it, so
 * the shell sees a process killed by it; calling process.exit() instead would tear down the model
 * worker in the middle of onnxruntime's run() and abort the process.
 */
import { ExitCode } from '../common/errors.js';

/** Why the command was stopped. */
export type StopReason = 'signal' | 'pipe' | 'output';

/** The signals that stop a command. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The abort signal plus how it was triggered. */
export interface Stopper {
  signal: AbortSignal;
  /** Undefined while the command runs normally. */
  reason(): StopReason | undefined;
  /** The signal that stopped the command, when reason() is 'signal'. */
  received(): StopSignal | undefined;
  /** Aborts for the given reason (the first reason wins). */
  stop(reason: StopReason): void;
  dispose(): void;
}

/** The exit code of a command stopped by `signal`. */
export function signalExitCode(signal: StopSignal): number {
  return signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
}

/** Kills this process with `signal` under its default action (what the shell expects after a signal). */
export function reraise(signal: StopSignal): void {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

/** Installs SIGINT/SIGTERM handlers and returns the stopper they trigger. */
export function installSignals(): Stopper {
  const controller = new AbortController();
  let why: StopReason | undefined;
  let received: StopSignal | undefined;
  const stop = (reason: StopReason) => {
    if (why) return;
    why = reason;
    controller.abort(new Error(reason === 'signal' ? 'interrupted' : 'output closed'));
  };
  const onSignal = (name: StopSignal) => {
    if (received) return reraise(name);
    received = name;
    if (why) return;
    stop('signal');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    reason: () => why,
    received: () => (why === 'signal' ? received : undefined),
    stop,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
