/**
 * Slash commands: the table, parsing a line into a command, and Tab completion of command names and
 * /set setting names.
 */
import { SETTING_NAMES } from './setting-values.js';

/** One slash command as /help lists it. */
export interface SlashSpec {
  name: string;
  args: string;
  summary: string;
}

/** Every slash command. */
export const SLASH_COMMANDS: SlashSpec[] = [
  { name: 'model', args: '', summary: 'pick another model (the conversation is kept)' },
  { name: 'system', args: 'TEXT', summary: 'set the system prompt (empty TEXT removes it)' },
  {
    name: 'set',
    args: 'PARAM VALUE',
    summary: 'change a decoding setting for this session (VALUE default resets it)',
  },
  {
    name: 'show',
    args: '',
    summary: 'show the model, the mode, the system prompt and every setting',
  },
  { name: 'clear', args: '', summary: 'start the conversation over (the system prompt stays)' },
  { name: 'regen', args: '', summary: 'discard the last reply and generate it again' },
  {
    name: 'save',
    args: 'FILE',
    summary: 'save the session as JSON (a bare NAME goes to the sessions folder)',
  },
  { name: 'load', args: 'FILE', summary: 'load a saved session' },
  { name: 'help', args: '', summary: 'show this help' },
  { name: 'exit', args: '', summary: 'quit (also Ctrl-D, or Ctrl-C twice)' },
];

/** A parsed slash command, or an error message for a malformed one. */
export type SlashCommand =
  | { name: 'model' | 'show' | 'clear' | 'regen' | 'help' | 'exit' }
  | { name: 'system'; text: string }
  | { name: 'set'; param: string; value: string }
  | { name: 'save' | 'load'; file: string }
  | { name: 'error'; message: string };

/** Parses a submitted line; undefined when the line is not a slash command (an ordinary message). */
export function parseSlash(line: string): SlashCommand | undefined {
  if (!line.startsWith('/') || line.startsWith('//')) return undefined;
  const match = /^\/(\S*)\s*([\s\S]*)$/.exec(line)!;
  const [, name, rest] = match;
  const args = rest.trim();
  switch (name) {
    case 'model':
    case 'show':
    case 'clear':
    case 'regen':
    case 'help':
    case 'exit':
      return args ? { name: 'error', message: `/${name} takes no arguments.` } : { name };
    case 'system':
      return { name: 'system', text: rest.trim() };
    case 'set': {
      const m = /^(\S+)\s+([\s\S]+)$/.exec(args);
      return m
        ? { name: 'set', param: m[1], value: m[2].trim() }
        : { name: 'error', message: 'Usage: /set PARAM VALUE (Tab lists the settings).' };
    }
    case 'save':
    case 'load':
      return args ? { name, file: args } : { name: 'error', message: `Usage: /${name} FILE` };
    default:
      return { name: 'error', message: `Unknown command /${name}. Type /help for the list.` };
  }
}

function commonPrefix(words: string[]): string {
  let prefix = words[0] ?? '';
  for (const w of words) while (!w.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

/**
 * Completes the line at Tab: returns the completed line (unchanged when nothing matches) and the
 * candidates to show when more than one matches.
 */
export function completeSlash(line: string): { line: string; candidates: string[] } {
  const setMatch = /^\/set\s+(\S*)$/.exec(line);
  if (setMatch) {
    const matches = SETTING_NAMES.filter((n) => n.startsWith(setMatch[1]));
    if (matches.length === 0) return { line, candidates: [] };
    const base = line.slice(0, line.length - setMatch[1].length);
    if (matches.length === 1) return { line: `${base}${matches[0]} `, candidates: [] };
    return { line: base + commonPrefix(matches), candidates: matches };
  }
  const cmdMatch = /^\/(\S*)$/.exec(line);
  if (!cmdMatch) return { line, candidates: [] };
  const matches = SLASH_COMMANDS.map((c) => c.name).filter((n) => n.startsWith(cmdMatch[1]));
  if (matches.length === 0) return { line, candidates: [] };
  if (matches.length === 1)
    return {
      line: `/${matches[0]}${SLASH_COMMANDS.find((c) => c.name === matches[0])!.args ? ' ' : ''}`,
      candidates: [],
    };
  return { line: `/${commonPrefix(matches)}`, candidates: matches.map((m) => `/${m}`) };
}

/** The /help text, including the keys. */
export function helpText(): string {
  const width = Math.max(...SLASH_COMMANDS.map((c) => `/${c.name} ${c.args}`.length));
  return [
    'Commands (Tab completes):',
    ...SLASH_COMMANDS.map((c) => `  ${`/${c.name} ${c.args}`.padEnd(width)}  ${c.summary}`),
    'Keys:',
    '  Enter submits; end a line with \\ (or press Alt-Enter) to continue on a new line;',
    '  start with // to send a message that begins with /',
    '  Up/Down recall earlier entries; Ctrl-A/E/U/K/W edit the line',
    '  Ctrl-C stops a reply in progress; Ctrl-C twice or Ctrl-D on an empty line quits',
    'Modes: a model with a chat template chats; one without continues your text (completion mode);',
    '  text-to-text models answer each message on its own (single-turn mode).',
  ].join('\n');
}
