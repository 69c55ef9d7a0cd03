/**
 * The layout inside one repo folder of the hub cache, as huggingface_hub writes it:
 * `blobs/{etag}` (sha256 for LFS files, git blob sha1 for regular files), `refs/{branch}` holding a
 * commit hash, and `snapshots/{commit}/{file}` as relative symlinks to the blobs.
 */
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { assertRealInside, isSafeRelativePath } from './validate.js';

/** A full commit hash, as huggingface_hub recognises one. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** The snapshot folder of a commit. */
export function snapshotDir(repo: string, commit: string): string {
  return join(repo, 'snapshots', commit);
}

/** The blob file of an etag. */
export function blobPath(repo: string, etag: string): string {
  return join(repo, 'blobs', etag);
}

/** The commit a ref names, or undefined when the ref file is missing or unreadable. */
export function readRef(repo: string, ref: string): string | undefined {
  if (!isSafeRelativePath(ref)) return undefined;
  try {
    const value = readFileSync(join(repo, 'refs', ref), 'utf8').trim();
    return value.length > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Writes refs/{ref} = commit atomically (huggingface_hub writes the bare hash, no newline). */
export function writeRef(repo: string, ref: string, commit: string): void {
  const path = join(repo, 'refs', ref);
  mkdirSync(dirname(path), { recursive: true });
  assertRealInside(repo, dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, commit);
  renameSync(tmp, path);
}

/** The entries of a folder with whether each is a folder; none when it cannot be read. */
export function folderEntries(dir: string): Array<{ name: string; path: string; isDir: boolean }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.map((name) => {
    const path = join(dir, name);
    return { name, path, isDir: statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false };
  });
}

/** Every ref of a repo as name → commit (nested names such as `pr/1` included). */
export function listRefs(repo: string): Map<string, string> {
  const refs = new Map<string, string>();
  const walk = (dir: string, prefix: string) => {
    for (const { name, path, isDir } of folderEntries(dir)) {
      const ref = prefix ? `${prefix}/${name}` : name;
      if (isDir) walk(path, ref);
      else if (!name.endsWith('.tmp')) {
        const commit = readRef(repo, ref);
        if (commit) refs.set(ref, commit);
      }
    }
  };
  walk(join(repo, 'refs'), '');
  return refs;
}

/** The commit hashes (snapshot folder names) present in a repo folder. */
export function listSnapshots(repo: string): string[] {
  try {
    return readdirSync(join(repo, 'snapshots'))
      .filter((n) => statSync(join(repo, 'snapshots', n)).isDirectory())
      .sort();
  } catch {
    return [];
  }
}

/**
 * The snapshot a revision names: a ref (`main`, `v1.0`, `pr/1`), a full commit hash, or a unique prefix
 * of at least 7 hex digits of a cached commit. Undefined when nothing cached matches.
 */
export function resolveRevision(repo: string, revision: string): string | undefined {
  const snapshots = listSnapshots(repo);
  const fromRef = readRef(repo, revision);
  if (fromRef && snapshots.includes(fromRef)) return fromRef;
  if (snapshots.includes(revision)) return revision;
  if (/^[0-9a-f]{7,39}$/.test(revision)) {
    const matches = snapshots.filter((s) => s.startsWith(revision));
    if (matches.length === 1) return matches[0];
  }
  return undefined;
}

/**
 * Points snapshots/{commit}/{file} at blobs/{etag} with a relative symlink, as huggingface_hub's
 * _create_symlink does, after checking that no folder on the way is a symlink leading out of the repo.
 */
export function linkSnapshotFile(repo: string, commit: string, file: string, etag: string): void {
  const pointer = join(snapshotDir(repo, commit), ...file.split('/'));
  mkdirSync(dirname(pointer), { recursive: true });
  assertRealInside(repo, dirname(pointer));
  const target = relative(dirname(pointer), blobPath(repo, etag));
  if (lstatSync(pointer, { throwIfNoEntry: false })) {
    if (safeReadlink(pointer) === target) return;
    unlinkSync(pointer);
  }
  symlinkSync(target, pointer);
}

function safeReadlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Whether a complete blob of this etag is already in the cache. */
export function hasBlob(repo: string, etag: string, size?: number): boolean {
  const stat = statSync(blobPath(repo, etag), { throwIfNoEntry: false });
  return Boolean(stat?.isFile() && (size === undefined || stat.size === size));
}
