/**
 * Removes one cached snapshot and the blobs that no other snapshot of the repo uses, the way
 * huggingface_hub's delete strategy does; refs that pointed at it go too, and an emptied repo folder is
 * removed whole.
 */
import { lstatSync, readdirSync, realpathSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { folderEntries, listRefs, listSnapshots, snapshotDir } from './layout.js';
import { snapshotFiles, type SnapshotFile } from './scan.js';
import { isInside } from './validate.js';

/** What a removal would free or has freed. */
export interface RemovalPlan {
  repo: string;
  commit: string;
  snapshot: string;
  /** Blob files that only this snapshot uses. */
  blobs: string[];
  /** Refs that point at the snapshot. */
  refs: string[];
  /** Bytes of the files deleted (links excluded). */
  freedBytes: number;
  /** True when nothing of the repo is left afterwards, so the whole folder goes. */
  removesRepo: boolean;
}

function blobsOf(files: SnapshotFile[], blobsDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of files) if (f.blob && isInside(blobsDir, f.blob)) out.set(f.blob, f.size);
  return out;
}

/** Works out what removing `commit` from `repo` deletes, without deleting anything. */
export function planRemoval(repo: string, commit: string): RemovalPlan {
  const blobsDir = safeReal(join(repo, 'blobs'));
  const mine = blobsOf(safeFiles(snapshotDir(repo, commit)), blobsDir);
  const others = listSnapshots(repo).filter((s) => s !== commit);
  for (const other of others)
    for (const blob of blobsOf(safeFiles(snapshotDir(repo, other)), blobsDir).keys())
      mine.delete(blob);
  const refs = [...listRefs(repo)].filter(([, c]) => c === commit).map(([r]) => r);
  const snapshot = snapshotDir(repo, commit);
  const removesRepo = others.length === 0;
  // The model data really deleted: every blob and snapshot file of the repo (unfinished parts
  // included), or the snapshot's own files (a trained or converted model keeps real files there, not
  // links) plus the blobs only it uses. Refs and locks are a few bytes of bookkeeping.
  const freedBytes = removesRepo
    ? treeBytes([join(repo, 'blobs'), join(repo, 'snapshots')])
    : treeBytes([snapshot, ...mine.keys()]);
  return { repo, commit, snapshot, blobs: [...mine.keys()], refs, freedBytes, removesRepo };
}

/** Bytes of the regular files under `paths` (links never followed, a hard-linked file counted once). */
export function treeBytes(paths: string[]): number {
  const seen = new Set<string>();
  let total = 0;
  const visit = (path: string) => {
    let stat;
    try {
      stat = lstatSync(path, { bigint: false });
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const name of safeList(path)) visit(join(path, name));
    } else if (stat.isFile()) {
      const key = `${stat.dev}:${stat.ino}`;
      if (!seen.has(key)) {
        seen.add(key);
        total += stat.size;
      }
    }
  };
  for (const p of paths) visit(p);
  return total;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Carries out a plan: the snapshot links, its own blobs and refs; the whole repo folder when emptied. */
export function executeRemoval(plan: RemovalPlan): void {
  if (plan.removesRepo) {
    rmSync(plan.repo, { recursive: true, force: true });
    return;
  }
  // rmSync never follows symlinks, so a link into another folder only loses the link.
  rmSync(plan.snapshot, { recursive: true, force: true });
  for (const blob of plan.blobs) rmSync(blob, { force: true });
  for (const ref of plan.refs) {
    try {
      unlinkSync(join(plan.repo, 'refs', ...ref.split('/')));
    } catch {
      // already gone: nothing to undo
    }
  }
  removeEmptyDirs(join(plan.repo, 'refs'));
}

function removeEmptyDirs(dir: string): void {
  for (const { path, isDir } of folderEntries(dir)) {
    if (!isDir) continue;
    removeEmptyDirs(path);
    if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
  }
}

function safeFiles(dir: string): SnapshotFile[] {
  try {
    return snapshotFiles(dir);
  } catch {
    return [];
  }
}

function safeReal(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
