/**
 * Chat sessions as JSON files in the user's data folder: $TEXTGEN_DATA_DIR/sessions, else
 * $XDG_DATA_HOME/textgen/sessions, else ~/.local/share/textgen/sessions. Every turn is autosaved to
 * the session's own file, so `--continue` resumes the most recent one and `--session NAME` a named one.
 */
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../generation/errors.js';
import type { SessionData, SessionStore } from '../ui/types.js';

/** The folder sessions are saved in. */
export function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEXTGEN_DATA_DIR) return join(env.TEXTGEN_DATA_DIR, 'sessions');
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'textgen', 'sessions');
}

/** A bare NAME means `<sessions>/NAME.json`; anything with a slash or a .json suffix is a path. */
export function sessionPath(target: string, env: NodeJS.ProcessEnv = process.env): string {
  if (target.includes('/') || target.endsWith('.json')) return resolve(target);
  return join(sessionsDir(env), `${target}.json`);
}

/** A fresh session name from the clock, e.g. chat-20261125-142233. */
export function newSessionName(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `chat-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

/** Validates parsed JSON as a session; throws InputError naming the file otherwise. */
export function parseSession(text: string, path: string): SessionData {
  let value: Partial<Record<keyof SessionData, unknown>>;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${path} is not valid JSON (${(error as Error).message}).`,
      'Sessions are written by /save; pick another file.',
    );
  }
  const isMessage = (m: unknown): m is SessionData['messages'][number] => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    return (role === 'user' || role === 'assistant') && typeof content === 'string';
  };
  const messages = value?.messages;
  if (value?.version !== 1 || !Array.isArray(messages) || !messages.every(isMessage))
    throw new InputError(
      `${path} is not a textgen chat session.`,
      'Sessions are written by /save; pick another file.',
    );
  return {
    version: 1,
    model: typeof value.model === 'string' ? value.model : undefined,
    system: typeof value.system === 'string' ? value.system : undefined,
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    settings:
      value.settings && typeof value.settings === 'object'
        ? (value.settings as SessionData['settings'])
        : {},
    savedAt: typeof value.savedAt === 'string' ? value.savedAt : undefined,
  };
}

/** Reads a session file. */
export async function readSession(path: string): Promise<SessionData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new InputError(
      `No session at ${path}.`,
      'List saved sessions in the sessions folder, or start a new chat without --session/--continue.',
    );
  }
  return parseSession(text, path);
}

/** Writes a session atomically (a crash never leaves half a file). */
export async function writeSession(path: string, data: SessionData): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(
    tmp,
    `${JSON.stringify({ ...data, savedAt: new Date().toISOString() }, null, 2)}\n`,
  );
  await rename(tmp, path);
}

/** The most recently written session file, if any. */
export async function latestSessionPath(
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const dir = sessionsDir(env);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return undefined;
  }
  const dated = await Promise.all(
    names.map(async (n) => ({ path: join(dir, n), mtime: (await stat(join(dir, n))).mtimeMs })),
  );
  return dated.sort((a, b) => b.mtime - a.mtime)[0]?.path;
}

/** The session store the chat uses; `autosavePath` is this chat's own file. */
export function fileSessionStore(
  autosavePath: string,
  env: NodeJS.ProcessEnv = process.env,
): SessionStore {
  return {
    async save(target, data) {
      const path = sessionPath(target, env);
      await writeSession(path, data);
      return path;
    },
    load: (target) => readSession(sessionPath(target, env)),
    autosave: (data) => writeSession(autosavePath, data),
  };
}
