/**
 * A chat session as an append-only log: one JSON record per line. Turns are appended, never
 * rewritten; /clear, /regen and /system are records too, so nothing the user said is ever deleted
 * from the file, and what the model sees (the turns that fit its context) is derived when the chat
 * runs, never written back. {@link replay} folds the records into the session's state; every record
 * is validated, so a damaged or hand-edited file gives one line naming the file, the line and the key.
 *
 * Version 1 files (one JSON object with `messages`, written before this format) are read as well.
 */
import { InputError } from '../errors.js';
import type { SettingsLayer } from '../settings.js';
import { settingsFromJson } from '../settings-schema.js';
import type { ChatMessage } from './chat-template.js';

/** The first line of a session file. */
export interface HeaderRecord {
  type: 'header';
  format: 'textgen-chat';
  version: 2;
  created: string;
}

/** One line of a session file. */
export type SessionRecord =
  | HeaderRecord
  /** A user message or a reply. */
  | { type: 'message'; role: 'user' | 'assistant'; content: string }
  /** The system prompt from here on (absent: none). */
  | { type: 'system'; content?: string }
  /** The session's /set overrides from here on (the whole layer). */
  | { type: 'settings'; settings: SettingsLayer }
  /** The model used from here on. */
  | { type: 'model'; model: string }
  /** /clear: the conversation starts over (the system prompt stays). */
  | { type: 'clear' }
  /** /regen: the last reply is withdrawn (a new one follows). */
  | { type: 'retract' };

/** A session's state: what the log folds into. */
export interface SessionState {
  model?: string;
  system?: string;
  /** Every message since the last /clear, oldest first (the whole history, not the fitted view). */
  messages: ChatMessage[];
  settings: SettingsLayer;
}

/** A new file's header. */
export function headerRecord(now = new Date()): HeaderRecord {
  return { type: 'header', format: 'textgen-chat', version: 2, created: now.toISOString() };
}

/** The records that recreate `state` from nothing (for /save and for converting version 1 files). */
export function stateRecords(state: SessionState): SessionRecord[] {
  return [
    ...(state.model ? [{ type: 'model' as const, model: state.model }] : []),
    ...(state.system !== undefined ? [{ type: 'system' as const, content: state.system }] : []),
    ...(Object.keys(state.settings).length
      ? [{ type: 'settings' as const, settings: state.settings }]
      : []),
    ...state.messages.map((m) => ({
      type: 'message' as const,
      role: m.role as 'user' | 'assistant',
      content: m.content,
    })),
  ];
}

/** Applies one record to the state (in place). */
export function applyRecord(state: SessionState, record: SessionRecord): void {
  switch (record.type) {
    case 'header':
      return;
    case 'message':
      state.messages.push({ role: record.role, content: record.content });
      return;
    case 'system':
      state.system = record.content;
      return;
    case 'settings':
      state.settings = record.settings;
      return;
    case 'model':
      state.model = record.model;
      return;
    case 'clear':
      state.messages = [];
      return;
    case 'retract':
      if (state.messages.at(-1)?.role === 'assistant') state.messages.pop();
  }
}

function bad(where: string, message: string): InputError {
  return new InputError(
    `${where}: ${message}`,
    'Session files are written by textgen chat; fix that line or remove it, or start another session.',
  );
}

/** Validates one parsed line as a record (`where` names the file and line for errors). */
function toRecord(value: unknown, where: string): SessionRecord {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw bad(where, 'not a JSON object');
  const v = value as Record<string, unknown>;
  const str = (k: string, optional = false) => {
    if (v[k] === undefined && optional) return undefined;
    if (typeof v[k] !== 'string')
      throw bad(where, `${k} must be a string, got ${JSON.stringify(v[k]) ?? 'nothing'}`);
    return v[k] as string;
  };
  switch (v.type) {
    case 'header':
      if (v.format !== 'textgen-chat' || v.version !== 2)
        throw bad(where, 'not a textgen chat session (unknown header)');
      return v as unknown as HeaderRecord;
    case 'message': {
      if (v.role !== 'user' && v.role !== 'assistant')
        throw bad(where, `role must be "user" or "assistant", got ${JSON.stringify(v.role)}`);
      return { type: 'message', role: v.role, content: str('content')! };
    }
    case 'system':
      return { type: 'system', content: str('content', true) };
    case 'settings':
      try {
        return {
          type: 'settings',
          settings: settingsFromJson(v.settings, { where: `${where}: settings` }),
        };
      } catch (error) {
        // A session file is input (exit 7), whatever the schema's usual exit code.
        throw bad(where, (error as Error).message.slice(`${where}: `.length));
      }
    case 'model':
      return { type: 'model', model: str('model')! };
    case 'clear':
    case 'retract':
      return { type: v.type };
    default:
      throw bad(where, `unknown record type ${JSON.stringify(v.type)}`);
  }
}

/** A version 1 session (one JSON object) as state, validated the same way. */
function fromVersion1(value: Record<string, unknown>, where: string): SessionState {
  if (!Array.isArray(value.messages)) throw bad(where, 'messages must be a list');
  const state: SessionState = { messages: [], settings: {} };
  value.messages.forEach((m, i) =>
    applyRecord(state, toRecord({ ...(m as object), type: 'message' }, `${where}: messages[${i}]`)),
  );
  if (value.model !== undefined)
    applyRecord(state, toRecord({ type: 'model', model: value.model }, where));
  if (value.system !== undefined)
    applyRecord(state, toRecord({ type: 'system', content: value.system }, where));
  if (value.settings !== undefined)
    applyRecord(state, toRecord({ type: 'settings', settings: value.settings }, where));
  return state;
}

/** What a session file holds: its state, and whether it must be rewritten before appending. */
export interface ParsedSession {
  state: SessionState;
  /** 1 for a version 1 file (rewrite it as a log before appending), else 2. */
  version: 1 | 2;
  /** Bytes of a torn last line (a crash mid-append) to cut before appending; 0 normally. */
  tornBytes: number;
}

/** Parses a session file's text; throws InputError naming `name`, the line and the problem. */
export function parseSessionText(text: string, name: string): ParsedSession {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && !trimmed.startsWith('{"type"')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (value && typeof value === 'object' && (value as { version?: unknown }).version === 1)
      return {
        state: fromVersion1(value as Record<string, unknown>, name),
        version: 1,
        tornBytes: 0,
      };
  }
  const lines = text.split('\n');
  // A last line without its newline is a record cut short by a crash: it is dropped (and cut).
  const torn = lines.pop() ?? '';
  const state: SessionState = { messages: [], settings: {} };
  lines.forEach((line, i) => {
    const where = `${name} line ${i + 1}`;
    if (i === 0 && line.trim() === '') throw bad(where, 'not a textgen chat session');
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw bad(where, 'not valid JSON');
    }
    const record = toRecord(value, where);
    if ((i === 0) !== (record.type === 'header'))
      throw bad(where, i === 0 ? 'not a textgen chat session (no header)' : 'a second header');
    applyRecord(state, record);
  });
  if (lines.length === 0 && torn.trim() !== '')
    throw bad(`${name} line 1`, 'not a textgen chat session');
  return { state, version: 2, tornBytes: Buffer.byteLength(torn) };
}

/** Records as file text: one JSON object per line, each ending in a newline. */
export function recordsText(records: SessionRecord[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}
