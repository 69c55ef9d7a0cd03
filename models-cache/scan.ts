/**
 * Reads the hub cache: every cached model snapshot with its size and what it is. A model written by
 * Python tools without ONNX weights is listed as unusable with the reason; a damaged entry (missing
 * blob, unreadable JSON) is reported, never thrown.
 */
import { lstatSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspectModelFolder, type Dtype } from '../generation/model/model-folder.js';
import { hubCacheDir, repoIdFromFolderName } from './paths.js';
import { listRefs, listSnapshots } from './layout.js';

/** One cached snapshot of a model, as `textgen models list` and the chat picker show it. */
export interface CachedModel {
  /** The repo id (`org/name`, or `local/NAME` for trained models). */
  id: string;
  /** The commit hash (snapshot folder name; `local` for trained models). */
  revision: string;
  /** Refs (branches, tags) that point at this snapshot, e.g. ['main']. */
  refs: string[];
  /** The snapshot folder, ready for loadModel. */
  dir: string;
  /** Bytes on disk of the blobs this snapshot uses. */
  sizeBytes: number;
  architecture?: string;
  task?: 'text-generation' | 'text2text-generation';
  dtypes: Dtype[];
  contextLength?: number;
  /** Why the snapshot cannot be used; absent when it can. */
  problem?: string;
  /** True when the problem is damage (missing blobs, broken JSON) rather than an unsupported format. */
  damaged?: boolean;
}

/** A file of a snapshot: its path in the repo, its size and whether its blob is present. */
export interface SnapshotFile {
  path: string;
  size: number;
  /** The blob's real path, or undefined when the symlink is dangling. */
  blob?: string;
}

/**
 * Lists the files of a snapshot folder (following the symlinks into blobs/). Never throws on a bad
 * entry: a dangling link or a link loop is a file without a blob, and a folder reached twice (a link
 * back to an ancestor) is walked once.
 */
export function snapshotFiles(dir: string): SnapshotFile[] {
  const out: SnapshotFile[] = [];
  const seen = new Set<string>();
  const walk = (folder: string, prefix: string) => {
    const real = realOrUndefined(folder);
    if (real === undefined || seen.has(real)) return;
    seen.add(real);
    let names: string[];
    try {
      names = readdirSync(folder).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(folder, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      let stat;
      try {
        stat = statSync(path, { throwIfNoEntry: false });
      } catch {
        stat = undefined; // ELOOP, EACCES, ENAMETOOLONG: unreadable, like a dangling link
      }
      if (!stat) {
        out.push({ path: rel, size: 0 });
      } else if (stat.isDirectory()) {
        walk(path, rel);
      } else {
        const blob = realOrUndefined(path);
        out.push(blob ? { path: rel, size: stat.size, blob } : { path: rel, size: 0 });
      }
    }
  };
  walk(dir, '');
  return out;
}

function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Bytes of the distinct blobs behind a list of snapshot files. */
export function distinctSize(files: SnapshotFile[]): number {
  const seen = new Map<string, number>();
  for (const f of files) if (f.blob) seen.set(f.blob, f.size);
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

const JSON_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer_config.json',
  'genai_config.json',
  'tokenizer.json',
];

/** Finds damage in a snapshot: dangling symlinks (missing blobs) or JSON files that do not parse. */
export function findDamage(dir: string, files: SnapshotFile[]): string | undefined {
  const missing = files.filter((f) => !f.blob).map((f) => f.path);
  if (missing.length)
    return `missing blob for ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`;
  for (const name of JSON_FILES) {
    if (!files.some((f) => f.path === name)) continue;
    try {
      JSON.parse(readFileSync(join(dir, name), 'utf8'));
    } catch {
      return `${name} is not valid JSON`;
    }
  }
  return undefined;
}

/** Describes one snapshot folder; never throws. */
export function describeSnapshot(
  id: string,
  revision: string,
  refs: string[],
  dir: string,
): CachedModel {
  const base: CachedModel = { id, revision, refs, dir, sizeBytes: 0, dtypes: [] };
  let files: SnapshotFile[];
  try {
    files = snapshotFiles(dir);
  } catch (error) {
    return { ...base, problem: `unreadable snapshot (${(error as Error).message})`, damaged: true };
  }
  base.sizeBytes = distinctSize(files);
  const damage = findDamage(dir, files);
  if (damage) return { ...base, problem: damage, damaged: true };
  try {
    const folder = inspectModelFolder(dir);
    return {
      ...base,
      architecture: folder.architecture,
      task: folder.task,
      dtypes: folder.dtypes,
      contextLength: folder.contextLength,
    };
  } catch (error) {
    return { ...base, problem: reasonOf(error) };
  }
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/No supported ONNX layout/.test(message))
    return 'no ONNX weights (found no usable model*.onnx / decoder_model*.onnx)';
  if (/checkpoint with no ONNX weights/.test(message))
    return 'no ONNX weights (a safetensors/PyTorch checkpoint: `textgen convert` makes one)';
  if (/holds GGUF weights/.test(message)) return "no ONNX weights (GGUF, llama.cpp's format)";
  return message.replace(/\s+/g, ' ');
}

/** Every snapshot of every model in the cache, sorted by id then revision. Never throws on damage. */
export function listCachedModels(env: NodeJS.ProcessEnv = process.env): CachedModel[] {
  const root = hubCacheDir(env);
  let folders: string[];
  try {
    folders = readdirSync(root).sort();
  } catch {
    return [];
  }
  const out: CachedModel[] = [];
  for (const folder of folders) {
    const id = repoIdFromFolderName(folder);
    const repo = join(root, folder);
    if (!id || !lstatSync(repo).isDirectory()) continue;
    const refs = listRefs(repo);
    const snapshots = listSnapshots(repo);
    for (const commit of snapshots) {
      const names = [...refs]
        .filter(([, c]) => c === commit)
        .map(([r]) => r)
        .sort();
      out.push(describeSnapshot(id, commit, names, join(repo, 'snapshots', commit)));
    }
    for (const [ref, commit] of refs) {
      if (!snapshots.includes(commit)) {
        out.push({
          id,
          revision: commit,
          refs: [ref],
          dir: join(repo, 'snapshots', commit),
          sizeBytes: 0,
          dtypes: [],
          problem: `refs/${ref} points at a missing snapshot`,
          damaged: true,
        });
      }
    }
    if (snapshots.length === 0 && refs.size === 0) {
      out.push({
        id,
        revision: '',
        refs: [],
        dir: repo,
        sizeBytes: 0,
        dtypes: [],
        problem: 'no snapshots (interrupted download?)',
        damaged: true,
      });
    }
  }
  return out;
}
