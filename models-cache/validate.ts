/**
 * Validation of every name that becomes a path in the cache: repo ids and revisions typed by the user,
 * and file names, etags and commit hashes sent by a server. A hostile or broken server must never make
 * textgen write outside the cache (`../../evil`, absolute paths, symlinked folders).
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { UsageError, TextgenError } from '../common/errors.js';

const REPO_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

/** Whether `id` is `name` or `org/name` as the Hugging Face hub allows them. */
export function isValidRepoId(id: string): boolean {
  const parts = id.split('/');
  return (
    parts.length >= 1 &&
    parts.length <= 2 &&
    parts.every((p) => REPO_PART.test(p) && !p.includes('--') && !p.includes('..'))
  );
}

/** Throws UsageError unless `id` is `name` or `org/name` as the Hugging Face hub allows them. */
export function validateRepoId(id: string): string {
  if (!isValidRepoId(id)) {
    throw new UsageError(
      `Invalid model id '${id}'.`,
      'A model id looks like org/name (letters, digits, "-", "_", "."; no "--" or "..").',
    );
  }
  return id;
}

/**
 * Throws UsageError unless `name` can be saved as `local/NAME` (a Hub repo name), checked before
 * `train` or `convert` does any work, so a bad name never ends a run or leaves a folder behind.
 */
export function validateLocalName(name: string): string {
  if (!isValidRepoId(`local/${name}`))
    throw new UsageError(
      `'${name}' cannot be a model name (local/NAME).`,
      'Pass --name with letters, digits, "-", "_" and "."; it starts and ends with a letter or digit, with no "--" or "..".',
    );
  return name;
}

/** Throws UsageError unless `revision` is a safe branch, tag or commit name (it becomes refs/{revision}). */
export function validateRevision(revision: string): string {
  if (!isSafeRelativePath(revision) || !/^[A-Za-z0-9._/-]+$/.test(revision)) {
    throw new UsageError(
      `Invalid revision '${revision}'.`,
      'A revision is a branch, a tag or a commit hash, e.g. main or v1.0.',
    );
  }
  return revision;
}

/** Whether `path` is a relative POSIX path of plain segments: no `..`, no `.`, no empty, no absolute, no `\`. */
export function isSafeRelativePath(path: string): boolean {
  if (path.length === 0 || path.length > 1024) return false;
  if (path.startsWith('/') || path.includes('\\') || path.includes('\0') || /^[A-Za-z]:/.test(path))
    return false;
  return path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** A server-sent value that is not safe to use; the pull stops without writing anything for it. */
export class UnsafeServerValueError extends TextgenError {
  constructor(what: string, value: string) {
    super(`The server sent an unsafe ${what}: ${JSON.stringify(value.slice(0, 200))}.`, {
      hint: 'Refusing to write it into the cache. Check HF_ENDPOINT points at a trusted Hugging Face hub.',
    });
  }
}

/** Checks a repo file name from the server (it becomes snapshots/{commit}/{name}). */
export function validateRepoFilename(name: string): string {
  if (!isSafeRelativePath(name)) throw new UnsafeServerValueError('file name', name);
  return name;
}

/** Checks an etag or commit hash from the server (each becomes one file or folder name). */
export function validateHashName(what: 'etag' | 'commit hash', value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(value) || value.includes('..'))
    throw new UnsafeServerValueError(what, value);
  return value;
}

/** Whether `child` is `parent` or inside it (lexically, both absolute). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Throws unless the real path of `path` (following symlinks) stays inside the real path of `root`. */
export function assertRealInside(root: string, path: string): void {
  const realRoot = realpathSync(root);
  const real = realpathSync(path);
  if (!isInside(realRoot, real)) {
    throw new TextgenError(`${path} leads outside the cache (to ${real}).`, {
      hint: 'A folder in the cache is a symlink to elsewhere; remove it and pull again.',
    });
  }
}
