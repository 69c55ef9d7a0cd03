/**
 * Where the model cache lives, exactly as huggingface_hub defines it, and where models trained by
 * `textgen train` go (`local/NAME`, stored in the same cache so every tool that scans it sees them).
 */
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from '../common/errors.js';
import { validateRepoId } from './validate.js';

/** `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'huggingface', 'hub');
  return join(homedir(), '.cache', 'huggingface', 'hub');
}

/** The cache folder of a repo id: `models--{org}--{name}`. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}

/** The repo id a cache folder name stands for (`models--a--b` → `a/b`), or undefined for other folders. */
export function repoIdFromFolderName(folder: string): string | undefined {
  if (!folder.startsWith('models--')) return undefined;
  const id = folder.slice('models--'.length).split('--').join('/');
  return id.length > 0 ? id : undefined;
}

/** The absolute cache folder of a repo. */
export function repoDir(repoId: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(hubCacheDir(env), repoFolderName(repoId));
}

/** The revision name used for models written by `textgen train` (refs/main points at it). */
export const LOCAL_REVISION = 'local';

/** The org part that marks a model trained by `textgen train` (`local/NAME`). */
export const LOCAL_ORG = 'local';

/** The snapshot folder a trained model `local/NAME` is written to. */
export function localModelDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(hubCacheDir(env), repoFolderName(`local/${name}`), 'snapshots', LOCAL_REVISION);
}

/**
 * Makes a trained model visible as `local/NAME`: writes refs/main = "local", as huggingface_hub writes
 * refs/{branch} = commit, so that resolution and every cache scanner find its snapshot. Call it after
 * the model files are complete in localModelDir(name). Returns that snapshot folder.
 */
export function finalizeLocalModel(name: string, env: NodeJS.ProcessEnv = process.env): string {
  validateRepoId(`${LOCAL_ORG}/${name}`);
  const snapshot = localModelDir(name, env);
  if (!existsSync(snapshot) || !statSync(snapshot).isDirectory()) {
    throw new ModelError(
      `No trained model at ${snapshot}.`,
      'Write the model files into localModelDir(name) before finalizing it.',
    );
  }
  const refs = join(repoDir(`${LOCAL_ORG}/${name}`, env), 'refs');
  mkdirSync(refs, { recursive: true });
  // Written to a temp file and renamed so that a concurrent reader never sees an empty ref.
  const tmp = join(refs, `.main.${process.pid}.tmp`);
  writeFileSync(tmp, LOCAL_REVISION);
  renameSync(tmp, join(refs, 'main'));
  return snapshot;
}
