/**
 * Chat sessions as files in the user's data folder: $TEXTGEN_DATA_DIR/sessions, else
 * $XDG_DATA_HOME/textgen/sessions, else ~/.local/share/textgen/sessions. A session file is an
 * append-only log (generation/chat/session-log.ts), `NAME.jsonl`; version 1 files (`NAME.json`, one
 * JSON object) are read and converted to a log on their first append. A chat that writes a session
 * holds its lock for as long as it runs, so a second `textgen chat --session NAME` is refused with a
 * clear error instead of interleaving turns.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, TextgenError } from '../generation/errors.js';
import {
  headerRecord,
  parseSessionText,
  recordsText,
  stateRecords,
  type ParsedSession,
  type SessionRecord,
  type SessionState,
} from '../generation/chat/session-log.js';
import type { SessionWriter } from '../generation/chat/session.js';
import type { SessionFiles } from '../generation/chat/slash.js';
import { acquireFileLock, type RepoLock } from '../models-cache/lock.js';

/** The folder sessions are saved in. */
export function sessionsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEXTGEN_DATA_DIR) return join(env.TEXTGEN_DATA_DIR, 'sessions');
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'textgen', 'sessions');
}

/**
 * A bare NAME means `<sessions>/NAME.jsonl` (or the version 1 `NAME.json` when only that exists);
 * anything with a slash or a .json/.jsonl suffix is a path.
 */
export function sessionPath(target: string, env: NodeJS.ProcessEnv = process.env): string {
  if (target.includes('/') || /\.jsonl?$/.test(target)) return resolve(target);
  const base = join(sessionsDir(env), target);
  return !existsSync(`${base}.jsonl`) && existsSync(`${base}.json`)
    ? `${base}.json`
    : `${base}.jsonl`;
}

/** The name a session is shown and resumed by. */
export function sessionName(path: string): string {
  return basename(path).replace(/\.jsonl?$/, '');
}

/** A fresh session name from the clock, e.g. chat-20261125-142233. */
export function newSessionName(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `chat-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

/** Reads and validates a session file (either version). */
export async function readSession(path: string): Promise<ParsedSession> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new InputError(
      `No session at ${path}.`,
      'List saved sessions with `textgen chat --list-sessions`, or start a new chat.',
    );
  }
  return parseSessionText(text, `session file ${path}`);
}

/** The lock of a session, shared by its .json and .jsonl spellings. */
function lockPath(path: string): string {
  return `${path.replace(/\.jsonl?$/, '')}.lock`;
}

/** Takes a session's lock without waiting; another live chat holding it is a clear error. */
async function lockSession(path: string): Promise<RepoLock> {
  const lock = await acquireFileLock(lockPath(path), { noWait: true });
  if ('busy' in lock)
    throw new TextgenError(
      `Session ${sessionName(path)} is open in another textgen chat${lock.pid ? ` (pid ${lock.pid})` : ''}.`,
      { hint: 'Close that chat first, or use another --session NAME.' },
    );
  return lock;
}

/** Writes a whole file atomically (a crash never leaves half a file). */
async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}

/** A session file this process owns (locked) and appends to. */
export class SessionFile implements SessionWriter {
  private prepared = false;

  private constructor(
    private path: string,
    private readonly lock: RepoLock,
    /** What the file held when it was opened (undefined: a new session). */
    readonly existing: ParsedSession | undefined,
  ) {}

  /** Locks the session at `path` and reads it when it exists. */
  static async open(path: string): Promise<SessionFile> {
    await mkdir(dirname(path), { recursive: true });
    const lock = await lockSession(path);
    try {
      return new SessionFile(path, lock, existsSync(path) ? await readSession(path) : undefined);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** Where the session is (a version 1 file moves to NAME.jsonl on its first append). */
  get location(): string {
    return this.path;
  }

  /** Appends records (the first append of a new file writes the header first). */
  async append(records: SessionRecord[]): Promise<void> {
    if (!this.prepared) await this.prepare();
    const file = await open(this.path, 'a', 0o600);
    try {
      await file.write(recordsText(records));
      await file.datasync();
    } finally {
      await file.close();
    }
  }

  /** A new file gets its header; a version 1 file is rewritten as a log; a torn last line is cut. */
  private async prepare(): Promise<void> {
    const old = this.existing;
    if (!existsSync(this.path)) {
      await writeAtomic(this.path, recordsText([headerRecord()]));
    } else if (old?.version === 1) {
      const next = this.path.replace(/\.json$/, '.jsonl');
      await writeAtomic(next, recordsText([headerRecord(), ...stateRecords(old.state)]));
      if (next !== this.path) await rm(this.path, { force: true });
      this.path = next;
    } else if (old && old.tornBytes > 0) {
      const size = (await stat(this.path)).size;
      await truncate(this.path, size - old.tornBytes);
    }
    this.prepared = true;
  }

  /** Releases the lock. */
  close(): void {
    this.lock.release();
  }
}

/** The most recently written session file, if any. */
export async function latestSessionPath(
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  return (await listSessionFiles(env))[0]?.path;
}

/** Session files, newest first. */
export async function listSessionFiles(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Array<{ path: string; mtime: Date }>> {
  const dir = sessionsDir(env);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.jsonl?$/.test(n));
  } catch {
    return [];
  }
  const dated = await Promise.all(
    names.map(async (n) => ({ path: join(dir, n), mtime: (await stat(join(dir, n))).mtime })),
  );
  return dated.sort((a, b) => b.mtime.getTime() - a.mtime.getTime());
}

/** Deletes a saved session; refused while a chat has it open. */
export async function removeSession(path: string): Promise<void> {
  if (!existsSync(path))
    throw new InputError(
      `No session at ${path}.`,
      'List saved sessions with `textgen chat --list-sessions`.',
    );
  const lock = await lockSession(path);
  try {
    await rm(path, { force: true });
  } finally {
    lock.release();
  }
}

/** /save and /load for a chat whose own log is `own` (undefined: it keeps none). */
export function sessionFiles(own: SessionFile | undefined, env: NodeJS.ProcessEnv): SessionFiles {
  return {
    async save(target, state: SessionState) {
      const path = sessionPath(target, env);
      const text = recordsText([headerRecord(), ...stateRecords(state)]);
      if (own && resolve(own.location) === resolve(path)) {
        // This chat's own log already holds everything once it exists (the lock is ours).
        if (!existsSync(path)) await writeAtomic(path, text);
        return path;
      }
      const lock = await lockSession(path);
      try {
        await writeAtomic(path, text);
      } finally {
        lock.release();
      }
      return path;
    },
    load: async (target) => (await readSession(sessionPath(target, env))).state,
  };
}
