/**
 * The single place where errors reach the user: one line (plus an optional hint line), never a
 * stack trace unless TEXTGEN_DEBUG is set.
 */
import { ExitCode, TextgenError } from '../common/errors.js';

/** Prints the error to `stderr` and returns the exit code to use. */
export function reportError(error: unknown, stderr: NodeJS.WritableStream): number {
  const debug = Boolean(process.env.TEXTGEN_DEBUG);
  if (error instanceof TextgenError) {
    stderr.write(`textgen: error: ${error.message}\n`);
    if (error.hint) stderr.write(`  hint: ${error.hint}\n`);
    if (debug && error.stack) stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`textgen: internal error: ${message.split('\n')[0]}\n`);
  stderr.write(
    '  hint: this is a bug in textgen; rerun with TEXTGEN_DEBUG=1 for details and report it.\n',
  );
  if (debug && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
  return ExitCode.failure;
}
