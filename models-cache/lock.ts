/**
 * A per-repo lock so two textgen processes never write one model at once (and the same lock for other
 * files one process must own: the user config, a chat session): a lock file created with
 * O_EXCL holding the owner's pid and host, refreshed while held. A lock whose process is gone (same
 * host) or that was not refreshed for STALE_MS is stale and taken over.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError } from '../common/errors.js';
import { hubCacheDir, repoFolderName } from './paths.js';

/** A lock not refreshed for this long is considered abandoned (its owner refreshes every REFRESH_MS). */
export const STALE_MS = 30_000;
const REFRESH_MS = 5_000;
const BREAKER_STALE_MS = 10_000;

/** A held lock; release() is idempotent. */
export interface RepoLock {
  path: string;
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
}

/** The lock file of a repo: `{cache}/.locks/models--org--name/textgen.lock` (next to huggingface_hub's locks). */
export function lockPathFor(repoId: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(hubCacheDir(env), '.locks', repoFolderName(repoId), 'textgen.lock');
}

function readOwner(path: string): Owner | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Owner;
    return typeof value.pid === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether an existing lock file is abandoned. */
export function isStale(path: string, now = Date.now()): boolean {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return true;
  const owner = readOwner(path);
  if (owner && owner.host === hostname() && !processAlive(owner.pid)) return true;
  // An unreadable owner is a lock being written right now, unless it has been like that for long.
  return now - stat.mtimeMs > STALE_MS;
}

function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    writeSync(
      fd,
      JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }),
    );
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Removes a stale lock under a second O_EXCL "breaker" file: without it, two waiters that both saw the
 * old lock stale could each delete it, and the slower one would delete the lock the faster one just took.
 */
function breakStaleLock(path: string): void {
  const breaker = `${path}.break`;
  if (tryCreate(breaker)) {
    try {
      if (isStale(path)) rmSync(path, { force: true });
    } finally {
      rmSync(breaker, { force: true });
    }
    return;
  }
  const stat = statSync(breaker, { throwIfNoEntry: false });
  if (stat && Date.now() - stat.mtimeMs > BREAKER_STALE_MS) rmSync(breaker, { force: true });
}

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  signal?: AbortSignal;
  /** Called once with the holder's pid when the lock is busy. */
  onWait?: (pid: number | undefined) => void;
  pollMs?: number;
  /** Give up at once when a live process holds the lock: resolves to the holder instead. */
  noWait?: boolean;
}

/** Another live process holds the lock (with `noWait`). */
export interface LockBusy {
  busy: true;
  pid?: number;
}

/**
 * Takes the lock, waiting while another live process holds it. `onWait` is called once with the
 * holder's pid when the lock is busy, so the caller can tell the user why nothing happens.
 */
export async function acquireRepoLock(
  repoId: string,
  options: FileLockOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<RepoLock> {
  return (await acquireFileLock(lockPathFor(repoId, options.env), options)) as RepoLock;
}

/**
 * The lock file at `path` (any file a textgen process must own alone: a repo, the user config, a
 * chat session): waits while a live process holds it, or with `noWait` reports the holder.
 */
export async function acquireFileLock(
  path: string,
  options: FileLockOptions = {},
): Promise<RepoLock | LockBusy> {
  mkdirSync(dirname(path), { recursive: true });
  let told = false;
  for (;;) {
    if (options.signal?.aborted) throw new AbortedError();
    if (tryCreate(path)) break;
    if (isStale(path)) {
      breakStaleLock(path);
      continue;
    }
    if (options.noWait) return { busy: true, pid: readOwner(path)?.pid };
    if (!told) {
      options.onWait?.(readOwner(path)?.pid);
      told = true;
    }
    await sleep(options.pollMs ?? 200);
  }
  const timer = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // the lock file vanished (removed by hand); nothing to refresh
    }
  }, REFRESH_MS);
  timer.unref();
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      if (readOwner(path)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}
