/**
 * How `generate` builds its prompt: the text (from `-f FILE`, else piped stdin, then the PROMPT
 * arguments) and, for a model with a chat template, the template around it (`--raw`/`--no-chat`
 * off, `--chat` required, `-s/--system` or `--system-file` for a system prompt).
 */
import { readFile } from 'node:fs/promises';
import { InputError, UsageError } from '../generation/errors.js';
import type { OneShotMode } from '../generation/chat/one-shot.js';
import type { CommandContext, OptionSpec } from './command.js';
import { collectPrompt, readStdin } from './prompt-input.js';

/** The prompt flags of `generate`. */
export const PROMPT_FLAGS: Record<string, OptionSpec> = {
  file: {
    type: 'string',
    short: 'f',
    valueName: 'FILE',
    description:
      'Read the prompt from FILE instead of stdin (- is stdin); PROMPT arguments follow it.',
  },
  system: {
    type: 'string',
    short: 's',
    valueName: 'TEXT',
    description: "System prompt, sent through the model's chat template.",
  },
  'system-file': {
    type: 'string',
    valueName: 'FILE',
    description: 'Read the system prompt from FILE.',
  },
  chat: {
    type: 'boolean',
    description:
      "Apply the model's chat template (the default when it has one; an error when not).",
  },
  'no-chat': {
    type: 'boolean',
    description: 'Send the prompt as it is, without the chat template.',
  },
  raw: { type: 'boolean', description: 'The same as --no-chat: the text exactly as given.' },
};

/** Reads a text file as strict UTF-8; a missing or binary file is an InputError naming it. */
export async function readTextFile(path: string, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(
      `Cannot read the ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`The ${what} file ${path} is not valid UTF-8 text.`);
  }
}

/** The template mode and system prompt the flags ask for (contradictions are usage errors). */
export async function templateOptions(
  ctx: CommandContext,
): Promise<{ mode: OneShotMode; system?: string }> {
  const off = ctx.values.raw === true || ctx.values['no-chat'] === true;
  if (off && ctx.values.chat === true)
    throw new UsageError('--chat cannot be combined with --raw or --no-chat.');
  if (ctx.values.system !== undefined && ctx.values['system-file'] !== undefined)
    throw new UsageError('--system and --system-file cannot be combined.');
  const file = ctx.values['system-file'] as string | undefined;
  const system =
    file !== undefined
      ? (await readTextFile(file, 'system prompt')).replace(/\r?\n$/, '')
      : (ctx.values.system as string | undefined);
  return { mode: off ? 'raw' : ctx.values.chat === true ? 'chat' : 'auto', system };
}

/** The prompt text: `-f FILE` (or `-f -` for stdin) replaces stdin; PROMPT arguments follow. */
export async function promptText(ctx: CommandContext): Promise<string> {
  const file = ctx.values.file as string | undefined;
  if (file === undefined) return collectPrompt(ctx.positionals, ctx.stdin);
  const text = file === '-' ? await readStdin(ctx.stdin) : await readTextFile(file, 'prompt');
  return [text.replace(/\r?\n$/, ''), ctx.positionals.join(' ')]
    .filter((s) => s.length > 0)
    .join('\n');
}
