/**
 * Typed errors shared by every layer. Each carries an exit code and a hint that tells the user what
 * to do; the CLI prints them in one place (cli/report-error.ts) as one line, never a stack trace.
 * A leaf (it imports nothing of the project), so models-cache/ and cli/ use it without reaching
 * into the core; generation/errors.ts re-exports it for the core.
 */

/** Process exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  model: 3,
  notFound: 4,
  network: 5,
  device: 6,
  input: 7,
  output: 8,
  interrupted: 130,
  terminated: 143,
} as const;

/** Base class of every error a user may see; anything else is a bug and is reported as such. */
export class TextgenError extends Error {
  readonly exitCode: number;
  readonly hint?: string;

  constructor(
    message: string,
    options: { exitCode?: number; hint?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.failure;
    this.hint = options.hint;
  }
}

/** A flag or argument that is missing, malformed or out of range. */
export class UsageError extends TextgenError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, hint: hint ?? 'Run `textgen help` for usage.' });
  }
}

/** A model folder or file that is missing, corrupt or of an unsupported layout. */
export class ModelError extends TextgenError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.model, hint, cause });
  }
}

/** Input text that cannot be used (invalid UTF-8, longer than the context window, ...). */
export class InputError extends TextgenError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.input, hint });
  }
}

/** An execution provider (CUDA) that cannot be used. */
export class DeviceError extends TextgenError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.device, hint, cause });
  }
}

/** Generation stopped by the user (Ctrl-C, SIGTERM); what was produced has been flushed. */
export class AbortedError extends TextgenError {
  constructor(message = 'Interrupted.') {
    super(message, { exitCode: ExitCode.interrupted });
  }
}
