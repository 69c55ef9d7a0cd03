/**
 * The CLI entry: picks the command, parses its flags, wires signals and streams, and is the one place
 * where errors are printed and turned into exit codes.
 */
import { didYouMean } from '../commands/suggest.js';
import { ExitCode, TextgenError, UsageError } from '../common/errors.js';
import { COMMANDS, findCommand, type CommandEntry } from './commands.js';
import { helpWidth, renderCommandHelp, renderHelp } from './help.js';
import { buildContext } from './parse.js';
import { reportError } from './report-error.js';
import { guardOutput, outputError, settle } from './output.js';
import { installSignals, reraise, signalExitCode, type StopSignal } from './signals.js';

/** Runs the CLI with the given arguments (without node and the script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const stopper = installSignals();
  const output = guardOutput(process.stdout, process.stderr, (why) => stopper.stop(why));
  let code: number = ExitCode.ok;
  let failure: unknown;
  let failed = false;
  try {
    code = await dispatch(argv, stopper.signal);
  } catch (error) {
    failure = error;
    failed = true;
  }
  // A write that failed reports after the command has returned: wait for it before deciding.
  await settle(process.stdout);
  stopper.dispose();
  const stdoutFailure = output.stdoutFailure();
  if (stdoutFailure) return reportError(outputError(stdoutFailure), process.stderr);
  if (stopper.reason() === 'pipe') return ExitCode.ok;
  const signal = stopper.received();
  // Stopped by the signal (an abort, or the command's own 130): 130 for SIGINT, 143 for SIGTERM. A
  // command that handles the signal itself and returns its own code (serve: 0) keeps it.
  if (signal && (failed ? isAbortLike(failure) : code === ExitCode.interrupted)) {
    exitSoon(signal);
    return signalExitCode(signal);
  }
  return failed ? reportError(failure, process.stderr) : code;
}

/**
 * After a signal the process should end now, with 130/143. Normally nothing is left running and it
 * does; a model worker still inside onnxruntime's session creation (native code that cannot be
 * interrupted, and that Node waits for at exit) would hold it until the load ends, so if the process
 * is still alive a moment later it is killed by the same signal, which the shell reports the same way.
 */
function exitSoon(signal: StopSignal): void {
  setTimeout(() => reraise(signal), EXIT_GRACE_MS).unref();
}

/** How long a stopped process may take to exit on its own before the signal is re-raised. */
const EXIT_GRACE_MS = 300;

async function dispatch(argv: string[], signal: AbortSignal): Promise<number> {
  const args = takeGlobalFlags(argv);
  const width = helpWidth(process.stdout);
  const [first, ...rest] = args;
  if (first === '--version' || first === '-V') return printVersion();
  if (first === 'help' || first === '--help' || first === '-h') {
    const target = rest[0] === undefined ? undefined : commandOrThrow(rest[0]);
    process.stdout.write(
      target ? renderCommandHelp(await target.load(), width) : renderHelp(COMMANDS, width),
    );
    return ExitCode.ok;
  }
  let entry: CommandEntry;
  let commandArgs = rest;
  if (first !== undefined && !first.startsWith('-')) {
    entry = commandOrThrow(first);
  } else if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new UsageError(
      first === undefined
        ? 'No command given (the chat TUI needs a terminal).'
        : `No command given before ${first} (the chat TUI needs a terminal).`,
      `Commands: ${COMMANDS.map((c) => c.name).join(', ')}. Run \`textgen help\` for more.`,
    );
  } else {
    // No command in a terminal: the chat TUI, as `npx textgen` promises.
    entry = findCommand('chat')!;
    commandArgs = args;
  }
  const command = await entry.load();
  const flags = beforeSeparator(commandArgs);
  if (flags.includes('--help') || flags.includes('-h')) {
    process.stdout.write(renderCommandHelp(command, width));
    return ExitCode.ok;
  }
  if (flags.includes('--version') || flags.includes('-V')) return printVersion();
  return command.run(buildContext(command, commandArgs, signal));
}

async function printVersion(): Promise<number> {
  process.stdout.write(`textgen ${await readVersion()}\n`);
  return ExitCode.ok;
}

/** The command named `name` (or an alias), or a usage error with a did-you-mean. */
function commandOrThrow(name: string): CommandEntry {
  const entry = findCommand(name);
  if (entry) return entry;
  const names = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  throw new UsageError(
    `Unknown command '${name}'.${didYouMean(name, names)}`,
    'Run `textgen help` to see the commands.',
  );
}

/** The arguments before `--` (after it everything is a positional). */
function beforeSeparator(args: string[]): string[] {
  const at = args.indexOf('--');
  return at < 0 ? args : args.slice(0, at);
}

/**
 * Removes the global --no-color flag wherever it is (before `--`) and turns colours off for this
 * process: NO_COLOR for us, FORCE_COLOR=0 for Ink's colour library, which does not read NO_COLOR.
 * A stdout that is not a terminal, or NO_COLOR set by the user, does the same.
 */
function takeGlobalFlags(argv: string[]): string[] {
  const flags = beforeSeparator(argv);
  const noColor = flags.includes('--no-color');
  const args = noColor
    ? [...flags.filter((a) => a !== '--no-color'), ...argv.slice(flags.length)]
    : argv;
  if (noColor) process.env.NO_COLOR = '1';
  if (process.env.NO_COLOR || !process.stdout.isTTY) process.env.FORCE_COLOR = '0';
  return args;
}

function isAbortLike(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'AbortError' ||
      error.name === 'AbortedError' ||
      (error instanceof TextgenError && error.exitCode === ExitCode.interrupted))
  );
}

async function readVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(
    await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}
