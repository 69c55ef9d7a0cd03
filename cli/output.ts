/**
 * Output stream handling. A reader that closes the pipe early (`textgen generate | head -c 20`) is not
 * an error: EPIPE stops the command (as Ctrl-C does, so the model worker finishes its step cleanly)
 * and the process exits 0. Any other stdout failure (a full disk, a hung-up terminal) stops the
 * command the same way and becomes one error line with exit code 8. A broken stderr is remembered and
 * never thrown: there is nowhere left to report it, and the command's own exit code stands.
 */
import { ExitCode, TextgenError } from '../common/errors.js';

/** Why stdout stopped taking data. */
export type OutputStop = 'pipe' | 'output';

/** What went wrong with a stream, for the error line. */
export interface StreamFailure {
  stream: 'stdout' | 'stderr';
  code: string;
  message: string;
}

/** Watches stdout and stderr; see the module comment. */
export interface OutputGuard {
  /** The first stdout failure other than a closed pipe. */
  stdoutFailure(): StreamFailure | undefined;
  /** Whether stderr failed (its writes are then dropped by the stream). */
  stderrBroken(): boolean;
  dispose(): void;
}

const DESCRIPTIONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EIO: 'input/output error',
  EBADF: 'the stream is closed',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EACCES: 'permission denied',
  EAGAIN: 'the stream would block',
  ECONNRESET: 'connection reset',
};

function failureOf(stream: StreamFailure['stream'], error: NodeJS.ErrnoException): StreamFailure {
  const code = error.code ?? 'EIO';
  return { stream, code, message: DESCRIPTIONS[code] ?? error.message.split('\n')[0] };
}

/** Installs the error handlers; `onStop` is called once when stdout can take no more output. */
export function guardOutput(
  stdout: NodeJS.WriteStream,
  stderr: NodeJS.WriteStream,
  onStop: (why: OutputStop) => void,
): OutputGuard {
  let stopped = false;
  let failure: StreamFailure | undefined;
  let stderrFailed = false;
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED')
      failure ??= failureOf('stdout', error);
    if (stopped) return;
    stopped = true;
    onStop(failure ? 'output' : 'pipe');
  };
  const onStderrError = () => {
    stderrFailed = true;
  };
  stdout.on('error', onStdoutError);
  stderr.on('error', onStderrError);
  return {
    stdoutFailure: () => failure,
    stderrBroken: () => stderrFailed,
    dispose: () => {
      stdout.off('error', onStdoutError);
      stderr.off('error', onStderrError);
    },
  };
}

/**
 * Resolves once everything written to `stream` so far has reached the system (or failed), and its
 * error event, if any, has been delivered: a failed write reports after the command has returned.
 */
export async function settle(stream: NodeJS.WriteStream): Promise<void> {
  if (!stream.destroyed && !stream.writableEnded)
    await new Promise<void>((resolve) => stream.write('', () => resolve()));
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The error a stdout failure is reported as. */
export function outputError(failure: StreamFailure): TextgenError {
  return new TextgenError(
    `cannot write to ${failure.stream}: ${failure.message} (${failure.code}).`,
    {
      exitCode: ExitCode.output,
      hint:
        failure.code === 'ENOSPC' || failure.code === 'EDQUOT'
          ? 'Free some space where the output goes, or send it elsewhere.'
          : 'Check where the output goes (a closed terminal, a full or read-only file).',
    },
  );
}
