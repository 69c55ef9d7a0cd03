/**
 * The CLI entry: picks the command, parses its flags, wires signals and streams, and is the one place
 * where errors are printed and turned into exit codes.
 */
import { parseArgs } from 'node:util';
import type { Command, CommandContext } from '../commands/command.js';
import { ExitCode, TextgenError, UsageError } from '../generation/errors.js';
import { COMMANDS, findCommand } from './commands.js';
import { renderCommandHelp, renderHelp } from './help.js';
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
  if (signal && (!failed || isAbortLike(failure))) {
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
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${await readVersion()}\n`);
    return ExitCode.ok;
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    const target = rest[0] ? findCommand(rest[0]) : undefined;
    process.stdout.write(target ? renderCommandHelp(await target.load()) : renderHelp(COMMANDS));
    return ExitCode.ok;
  }
  let entry = first === undefined || first.startsWith('-') ? undefined : findCommand(first);
  let args = rest;
  if (!entry) {
    if (first !== undefined && !first.startsWith('-')) {
      throw new UsageError(
        `Unknown command '${first}'.`,
        'Run `textgen help` to see the commands.',
      );
    }
    // No command: the chat TUI in a terminal, as `npx textgen` promises; otherwise help.
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      process.stderr.write(renderHelp(COMMANDS));
      return ExitCode.usage;
    }
    entry = findCommand('chat')!;
    args = argv;
  }
  const command = await entry.load();
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(renderCommandHelp(command));
    return ExitCode.ok;
  }
  return command.run(buildContext(command, args, signal));
}

function buildContext(command: Command, args: string[], signal: AbortSignal): CommandContext {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
  > = {};
  for (const [name, spec] of Object.entries(command.options)) {
    options[name] = { type: spec.type };
    if (spec.short) options[name].short = spec.short;
    if (spec.multiple) options[name].multiple = true;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args, options),
      options,
      allowPositionals: command.allowPositionals ?? true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message.split('\n')[0]}`,
      `Run \`textgen help ${command.name}\` for its flags.`,
    );
  }
  return {
    values: parsed.values as CommandContext['values'],
    positionals: parsed.positionals,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal,
  };
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Joins a value-taking flag and a following negative number (`--temperature -1` → `--temperature=-1`):
 * parseArgs rejects that form as ambiguous, yet negative values are legitimate (presence_penalty,
 * length_penalty) or deserve the flag's own range error. Nothing after `--` is touched.
 */
function joinNegativeValues(
  args: string[],
  options: Record<string, { type: 'string' | 'boolean'; short?: string }>,
): string[] {
  const shorts = new Map(
    Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])),
  );
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return [...out, ...args.slice(i)];
    const name = arg.startsWith('--')
      ? arg.slice(2)
      : /^-[^-]$/.test(arg)
        ? shorts.get(arg.slice(1))
        : undefined;
    if (
      name !== undefined &&
      options[name]?.type === 'string' &&
      NEGATIVE_NUMBER.test(args[i + 1] ?? '')
    ) {
      out.push(`--${name}=${args[++i]}`);
    } else {
      out.push(arg);
    }
  }
  return out;
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
