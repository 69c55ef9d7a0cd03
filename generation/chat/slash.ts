/**
 * Slash commands of a chat, for the TUI and piped chat alike: the table, parsing a line into a
 * command, and carrying it out against a {@link ChatSession}. Front-ends pass in how to print and
 * what only they can do (the model picker, quitting).
 */
import { TextgenError } from '../errors.js';
import type { SettingsLayer } from '../settings.js';
import {
  formatSettingValue,
  parseNamedSetting,
  settingKey,
  settingName,
  SETTING_SPECS,
} from '../settings-schema.js';
import { chatModeOf } from './conversation.js';
import type { SessionState } from './session-log.js';
import type { ChatEvent, ChatSession, SessionEngine } from './session.js';

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
    args: 'NAME VALUE',
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
    summary: 'save the session (a bare NAME goes to the sessions folder)',
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

/**
 * Parses a submitted line; undefined when the line is not a slash command (an ordinary message).
 * A line starting with `//` is a message that starts with `/` (see {@link messageText}).
 */
export function parseSlash(line: string): SlashCommand | undefined {
  if (!line.startsWith('/') || line.startsWith('//')) return undefined;
  const [, name, rest] = /^\/(\S*)\s*([\s\S]*)$/.exec(line)!;
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
      return { name: 'system', text: args };
    case 'set': {
      const m = /^(\S+)\s+([\s\S]+)$/.exec(args);
      return m
        ? { name: 'set', param: m[1], value: m[2].trim() }
        : { name: 'error', message: 'Usage: /set NAME VALUE (Tab lists the settings).' };
    }
    case 'save':
    case 'load':
      return args ? { name, file: args } : { name: 'error', message: `Usage: /${name} FILE` };
    default:
      return { name: 'error', message: `Unknown command /${name}. Type /help for the list.` };
  }
}

/** The message a non-command line sends: `//text` sends `/text`. */
export function messageText(line: string): string {
  return line.startsWith('//') ? line.slice(1) : line;
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

/** Formats an error for the transcript: the message and, for textgen errors, the hint. */
export function describeError(error: unknown): string {
  if (error instanceof TextgenError)
    return error.hint ? `${error.message}\n  hint: ${error.hint}` : error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The overrides after `/set name raw`: `default` removes the override; anything else is parsed by
 * the settings schema (either spelling of the name). Throws a UsageError that says the syntax.
 */
export function applySetting(overrides: SettingsLayer, name: string, raw: string): SettingsLayer {
  const next: SettingsLayer = { ...overrides };
  const key = settingKey(name === 'greedy' ? 'do_sample' : name);
  if (raw === 'default' && key) {
    delete next[key];
    return next;
  }
  const parsed = parseNamedSetting(name, raw, {});
  (next as Record<string, unknown>)[parsed.key] = parsed.value;
  return next;
}

/** Session files as a front-end reaches them (commands/chat-sessions.ts provides them). */
export interface SessionFiles {
  /** Writes the session to FILE (a bare name goes to the sessions folder); resolves to the path. */
  save(target: string, state: SessionState): Promise<string>;
  /** Reads a saved session. */
  load(target: string): Promise<SessionState>;
}

/** What a slash command may act on, and how its output is shown. */
export interface SlashContext {
  session: ChatSession;
  engine: SessionEngine & {
    info: SessionEngine['info'] & { architecture?: string; dtype?: string; device?: string };
  };
  modelId: string;
  /** Shows a line of the given kind (the TUI's transcript, or stderr). */
  print(kind: 'info' | 'notice' | 'error', text: string): void;
  /** Runs a turn the way the front-end renders a reply (for /regen), with its own stop signal. */
  runTurn(turn: (signal: AbortSignal) => AsyncIterable<ChatEvent>): Promise<void>;
  sessions?: SessionFiles;
  /** Shows the messages of a loaded session (the TUI's transcript). */
  showMessages?: (messages: SessionState['messages']) => void;
  /** Opens the model picker; absent where there is none (piped chat). */
  openPicker?: () => void;
  exit: () => void;
}

function showText(ctx: SlashContext): string {
  const { info } = ctx.engine;
  const session = ctx.session;
  const settings = session.settings() as unknown as Record<string, unknown>;
  const mode = chatModeOf(info);
  const facts = [info.architecture, info.dtype, info.device, `context ${info.contextLength}`];
  return [
    `model ${ctx.modelId} (${facts.filter(Boolean).join(', ')})`,
    `mode ${mode}${mode === 'completion' ? ' (no chat template: replies continue the text)' : ''}`,
    `system ${session.system ? JSON.stringify(session.system) : '(none)'}`,
    `messages ${session.messages.length} (the model sees ${session.messages.length - session.viewStart})`,
    'settings (* = set in this session):',
    ...SETTING_SPECS.map(
      (s) =>
        `  ${s.key in session.overrides ? '*' : ' '} ${settingName(s.key)} = ${formatSettingValue(s.key, settings[s.key])}`,
    ),
  ].join('\n');
}

/** Prints the notices of a change once its autosave is done. */
async function report(ctx: SlashContext, saved: Promise<ChatEvent[]>): Promise<void> {
  for (const e of await saved)
    if (e.type === 'notice' || e.type === 'error') ctx.print(e.type, e.text);
}

async function saveOrLoad(ctx: SlashContext, name: 'save' | 'load', file: string): Promise<void> {
  if (!ctx.sessions) return ctx.print('error', 'Sessions are not available here.');
  if (name === 'save') {
    ctx.print('info', `Saved to ${await ctx.sessions.save(file, ctx.session.snapshot())}.`);
    return;
  }
  const state = await ctx.sessions.load(file);
  const other = state.model && state.model !== ctx.modelId ? ` (saved with ${state.model})` : '';
  const saved = ctx.session.load(state);
  ctx.print('info', `Loaded ${file}: ${state.messages.length} messages${other}.`);
  ctx.showMessages?.(state.messages);
  await report(ctx, saved);
}

/**
 * Runs one slash command; errors are printed, never thrown. What it prints at once is printed before
 * it first waits, so a burst of commands shows each result right after its command.
 */
export async function runSlash(command: SlashCommand, ctx: SlashContext): Promise<void> {
  const { session } = ctx;
  try {
    switch (command.name) {
      case 'error':
        return ctx.print('error', command.message);
      case 'help':
        return ctx.print('info', helpText());
      case 'exit':
        return ctx.exit();
      case 'model':
        if (!ctx.openPicker)
          return ctx.print('error', '/model needs the chat TUI; use --model here.');
        return ctx.openPicker();
      case 'show':
        return ctx.print('info', showText(ctx));
      case 'clear': {
        const saved = session.clear();
        ctx.print('info', 'Conversation cleared.');
        return await report(ctx, saved);
      }
      case 'regen':
        if (session.messages.at(-1)?.role !== 'assistant')
          return ctx.print('notice', 'There is no reply to regenerate.');
        ctx.print('info', '↻ Regenerating the last reply.');
        return await ctx.runTurn((signal) => session.regen(signal));
      case 'system': {
        const saved = session.setSystem(command.text);
        ctx.print('info', command.text ? 'System prompt set.' : 'System prompt removed.');
        return await report(ctx, saved);
      }
      case 'set': {
        const next = applySetting(session.overrides, command.param, command.value);
        const saved = session.setOverrides(next);
        const key = settingKey(command.param === 'greedy' ? 'do_sample' : command.param)!;
        const value = (session.settings() as unknown as Record<string, unknown>)[key];
        ctx.print('info', `${settingName(key)} = ${formatSettingValue(key, value)}`);
        return await report(ctx, saved);
      }
      case 'save':
      case 'load':
        return await saveOrLoad(ctx, command.name, command.file);
    }
  } catch (error) {
    ctx.print('error', describeError(error));
  }
}
