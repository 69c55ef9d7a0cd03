// Test helper for the reliability suite: runs the built CLI in a sandbox (HOME, XDG_*, HF_* and
// TEXTGEN_* on a temp folder), asserts the one-line error contract, and snapshots the user's files so
// a test can prove nothing they own lost content.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa, type Options, type Result, type ResultPromise } from 'execa';
import { fixture, repoRoot } from '../generation/fixtures.js';

export { fixture, repoRoot };

/** The built CLI. */
export const BIN = join(repoRoot, 'bin', 'textgen.js');

/** Fails early with a clear message when the CLI has not been built. */
export function assertBuilt(): void {
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` before the reliability tests');
}

/** A temp home for one test file. */
export interface Sandbox {
  root: string;
  env: Record<string, string>;
  cleanup(): void;
}

/** A temp HOME with every config, data and cache path of textgen and the hub inside it. */
export function sandbox(extra: Record<string, string> = {}): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'textgen-rel-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: join(root, 'home'),
    XDG_CONFIG_HOME: join(root, 'config'),
    XDG_DATA_HOME: join(root, 'data'),
    XDG_CACHE_HOME: join(root, 'cache'),
    HF_HOME: join(root, 'hf'),
    HF_HUB_CACHE: join(root, 'hf', 'hub'),
    TEXTGEN_CONFIG_DIR: join(root, 'config', 'textgen'),
    TEXTGEN_DATA_DIR: join(root, 'data', 'textgen'),
    HF_HUB_OFFLINE: '',
    ...extra,
  };
  return { root, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** execa options, where stdout/stderr may also be a raw file descriptor (handed to the child as is). */
export type RunOptions = Omit<Options, 'stdout' | 'stderr'> & {
  stdout?: Options['stdout'] | number;
  stderr?: Options['stderr'] | number;
};

/** Runs `textgen ...args` to the end; never rejects. */
export function textgen(
  args: string[],
  env: Record<string, string>,
  options: RunOptions = {},
): Promise<Result> {
  return execa('node', [BIN, ...args], {
    cwd: repoRoot,
    env,
    extendEnv: false,
    reject: false,
    input: '',
    timeout: 120_000,
    stripFinalNewline: false,
    ...options,
  } as Options) as Promise<Result>;
}

/** Starts `textgen ...args` and returns the running process (signals, early reads). */
export function startTextgen(
  args: string[],
  env: Record<string, string>,
  options: RunOptions = {},
): ResultPromise {
  return execa('node', [BIN, ...args], {
    cwd: repoRoot,
    env,
    extendEnv: false,
    reject: false,
    timeout: 120_000,
    stripFinalNewline: false,
    ...options,
  } as Options);
}

/** Asserts no Node stack trace and no internal-error report in `stderr`. */
export function assertNoStack(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at .+[(:]\d+/m, `no stack trace:\n${stderr}`);
  assert.doesNotMatch(stderr, /internal error|this is a bug/, `no internal error:\n${stderr}`);
  assert.doesNotMatch(stderr, /node:internal|Error: .*\n\s+at /, `no Node error dump:\n${stderr}`);
}

/**
 * Asserts the error contract: exit `code`, one `textgen: error:` line matching `message` (plus an
 * optional hint line), no stack trace.
 */
export function assertOneLineError(result: Result, code: number, message: RegExp): void {
  const stderr = String(result.stderr);
  assert.equal(result.exitCode, code, `exit code (signal ${result.signal}; stderr: ${stderr})`);
  const lines = stderr.replace(/\n$/, '').split('\n');
  const at = lines.findIndex((l) => l.startsWith('textgen: error: '));
  assert.ok(at >= 0, `a textgen: error: line, got:\n${stderr}`);
  assert.match(lines[at], message);
  assert.equal(
    lines.filter((l) => l.startsWith('textgen: error: ')).length,
    1,
    `one error line:\n${stderr}`,
  );
  const rest = lines.slice(at + 1);
  assert.ok(rest.length <= 1, `at most a hint after the error, got:\n${stderr}`);
  if (rest.length === 1) assert.match(rest[0], /^ {2}hint: /);
  assertNoStack(stderr);
}

/** sha256 of every file under `dir` (relative path → digest); empty when the folder is missing. */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (folder: string) => {
    if (!existsSync(folder)) return;
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) walk(path);
      else
        out.set(relative(dir, path), createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** Asserts every file of `before` is still there with the same content. */
export function assertNothingLost(before: Map<string, string>, dir: string): void {
  const after = snapshotTree(dir);
  for (const [path, digest] of before)
    assert.equal(after.get(path), digest, `${path} in ${dir} lost or changed content`);
}
