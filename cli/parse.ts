/**
 * Parses a command's flags with node:util parseArgs and turns its errors into one-line usage errors
 * in textgen's words, with a did-you-mean (never parseArgs' own long, positional-argument advice).
 */
import { parseArgs } from 'node:util';
import type { Command, CommandContext } from '../commands/command.js';
import { didYouMean } from '../commands/suggest.js';
import { UsageError } from '../common/errors.js';

type ParseOptions = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
>;

/** The context a command runs with: parsed flags, positionals, the process streams and `signal`. */
export function buildContext(
  command: Command,
  args: string[],
  signal: AbortSignal,
): CommandContext {
  const options: ParseOptions = {};
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
    throw parseError(command, options, error as Error & { code?: string });
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

/** parseArgs' error, said in one line about this command. */
function parseError(
  command: Command,
  options: ParseOptions,
  error: Error & { code?: string },
): UsageError {
  const hint = `Run \`textgen help ${command.name}\` for its flags.`;
  const message = error.message;
  const name = `textgen ${command.name}`;
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? '?';
    const known = Object.entries(options).flatMap(([long, o]) => [
      `--${long}`,
      ...(o.short ? [`-${o.short}`] : []),
    ]);
    return new UsageError(`${name} has no flag ${flag}.${didYouMean(flag, known)}`, hint);
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /--([\w-]+)/.exec(message)?.[1] ?? '';
    if (/does not take an argument/.test(message))
      return new UsageError(`--${flag} takes no value.`, hint);
    const spec = command.options[flag];
    return new UsageError(`--${flag} needs a value (${spec?.valueName ?? 'VALUE'}).`, hint);
  }
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
    return new UsageError(`${name} takes no arguments (got '${arg.slice(0, 60)}').`, hint);
  }
  return new UsageError(message.split('\n')[0].split('. ')[0], hint);
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * Joins a value-taking flag and a following negative number (`--temperature -1` → `--temperature=-1`):
 * parseArgs rejects that form as ambiguous, yet negative values are legitimate (presence_penalty,
 * length_penalty) or deserve the flag's own range error. Nothing after `--` is touched.
 */
function joinNegativeValues(args: string[], options: ParseOptions): string[] {
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
