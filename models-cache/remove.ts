/**
 * Removes one cached snapshot and the blobs that no other snapshot of the repo uses, the way
 * huggingface_hub's delete strategy does; refs that pointed at it go too, and an emptied repo folder is
 * removed whole.
 */
import { readdirSync, realpathSync, rmSync, unlinkSync } from 'node:fs';
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
  /** Bytes freed. */
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
  return {
    repo,
    commit,
    snapshot: snapshotDir(repo, commit),
    blobs: [...mine.keys()],
    refs,
    freedBytes: [...mine.values()].reduce((a, b) => a + b, 0),
    removesRepo: others.length === 0,
  };
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
