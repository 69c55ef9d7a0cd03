// Test helper: runs the built CLI (`node bin/textgen.js`) with a clean environment pointing every
// Hugging Face path into a temp folder, so no test ever reads or writes the real ~/.cache.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../models-cache/hf-layout.js';

const bin = join(repoRoot, 'bin', 'textgen.js');

/** Fails early with a clear message when the CLI has not been built. */
export function assertBuilt(): void {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'models.js')))
    throw new Error('dist/ is missing: run `npm run build` before these tests');
}

/**
 * The environment of a CLI run whose textgen config, data and hub cache all live under `home`
 * (nothing else of the parent's environment but PATH).
 */
export function homeEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    TEXTGEN_CONFIG_DIR: join(home, 'config'),
    TEXTGEN_DATA_DIR: join(home, 'data'),
    HF_HUB_CACHE: join(home, 'hub'),
    ...extra,
  };
}

export interface Sandbox {
  root: string;
  cache: string;
  env: Record<string, string>;
  cleanup(): void;
}

/** A temp HOME + HF_HOME + HF_HUB_CACHE. */
export function sandbox(extra: Record<string, string> = {}): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'textgen-models-'));
  const cache = join(root, 'hub');
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: join(root, 'home'),
    HF_HOME: join(root, 'hf-home'),
    HF_HUB_CACHE: cache,
    XDG_CONFIG_HOME: join(root, 'config'),
    ...extra,
  };
  return { root, cache, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Runs `textgen ...args` and never rejects; the test inspects exitCode/stdout/stderr. */
export function textgen(
  args: string[],
  env: Record<string, string>,
  options: { input?: string; timeout?: number } = {},
) {
  return execa('node', [bin, ...args], {
    cwd: repoRoot,
    env,
    extendEnv: false,
    reject: false,
    input: options.input ?? '',
    timeout: options.timeout ?? 60_000,
  });
}
