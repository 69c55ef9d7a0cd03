// Test helper: writes a repo into a hub cache the way huggingface_hub lays it out (blobs named by
// sha256 for LFS files and git blob sha1 for regular files, relative symlinks, refs/{branch}), built by
// hand from the spec so the tests check textgen against that layout rather than against itself.
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoRoot, sharedModels } from '../shared-fixtures.js';

export { repoRoot, sharedModels } from '../shared-fixtures.js';

/** git's blob id: sha1 of "blob {size}\0" + content. */
export function gitBlobSha1(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The hub stores weights in LFS; small text files in git. */
export function isLfs(path: string): boolean {
  return (
    /\.(onnx|onnx_data|data|bin|safetensors|model)$/.test(path) || /\.onnx_data_\d+$/.test(path)
  );
}

export function etagOf(path: string, data: Buffer): string {
  return isLfs(path) ? sha256(data) : gitBlobSha1(data);
}

/** Every file under a folder as repo-relative POSIX paths → absolute paths. */
export function folderFiles(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(path).isDirectory()) Object.assign(out, folderFiles(path, rel));
    else out[rel] = path;
  }
  return out;
}

/** A deterministic fake 40-hex commit hash. */
export function fakeCommit(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

/** Writes one snapshot of a repo; returns the snapshot folder. */
export function writeHfSnapshot(
  cache: string,
  id: string,
  commit: string,
  files: Record<string, Buffer | string>,
  refs: string[] = ['main'],
): string {
  const repo = join(cache, `models--${id.split('/').join('--')}`);
  for (const [path, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const blob = join(repo, 'blobs', etagOf(path, data));
    mkdirSync(dirname(blob), { recursive: true });
    writeFileSync(blob, data);
    const pointer = join(repo, 'snapshots', commit, ...path.split('/'));
    mkdirSync(dirname(pointer), { recursive: true });
    symlinkSync(relative(dirname(pointer), blob), pointer);
  }
  for (const ref of refs) {
    mkdirSync(dirname(join(repo, 'refs', ref)), { recursive: true });
    writeFileSync(join(repo, 'refs', ref), commit);
  }
  return join(repo, 'snapshots', commit);
}

/** Reads a folder into a files map for writeHfSnapshot (reference outputs left out). */
function readFolder(dir: string): Record<string, Buffer> {
  return Object.fromEntries(
    Object.entries(folderFiles(dir))
      .filter(([p]) => !p.endsWith('golden.json'))
      .map(([p, abs]) => [p, readFileSync(abs)]),
  );
}

/** Reads a shared fixture folder into a files map for writeHfSnapshot. */
export function fixtureFiles(name: string): Record<string, Buffer> {
  return readFolder(join(sharedModels, name));
}

/** The repository's embedded model (models/default) as a files map: a valid model in every clone. */
export function defaultModelFiles(): Record<string, Buffer> {
  return readFolder(join(repoRoot, 'models', 'default'));
}
