/**
 * The contract between the CLI shell (cli/) and the commands. Commands receive their parsed flags and
 * the process streams through this object, so they can be run in-process by tests.
 */

/** A parseArgs option spec (node:util), kept structural so commands need not import cli/. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** One line for `textgen help COMMAND`. */
  description: string;
  /** Value placeholder shown in help, e.g. N or DIR. */
  valueName?: string;
}

/** What a command gets when it runs. */
export interface CommandContext {
  /** Flags parsed by the CLI according to the command's options. */
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** Positional arguments after the command name. */
  positionals: string[];
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on the first Ctrl-C (SIGINT); a second Ctrl-C exits at once. */
  signal: AbortSignal;
}

/** One CLI command, defined in its own file under commands/. */
export interface Command {
  name: string;
  aliases?: string[];
  /** One line for `textgen help`. */
  summary: string;
  /** Usage line, e.g. `textgen generate [--model DIR] [PROMPT...]`. */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Whether positionals are accepted (default true). */
  allowPositionals?: boolean;
  /** Runnable examples for the help's Examples section (cli/help-examples.ts has the defaults). */
  examples?: string[];
  /** Subcommands (`models list`, `config set`), for did-you-mean and shell completion. */
  subcommands?: string[];
  /** Runs the command; resolves to the exit code. Throws TextgenError for user-facing failures. */
  run(ctx: CommandContext): Promise<number>;
}
