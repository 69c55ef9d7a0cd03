// Where the golden fixtures live, and the one place that decides whether they are there.
//
// The real models, reference outputs and corpora (../shared/models, described in its PROVENANCE.md)
// are not part of the repository: CI lays them next to the clone, a fresh clone has none. Tests that
// need them are skipped with one reason when the folder is missing (`needsShared` as a test's
// options, or `sharedTest`/`sharedDescribe`/`sharedBefore` in files that need them throughout);
// everything else always runs.
// `TEXTGEN_SHARED_DIR` points the fixture root elsewhere (e.g. `/nonexistent` to see the skips).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  after,
  before,
  describe,
  test,
  type SuiteContext,
  type TestContext,
  type TestOptions,
} from 'node:test';

/** The repository root. */
export const repoRoot = resolve(import.meta.dirname, '..');

/** The fixture root: `$TEXTGEN_SHARED_DIR`, else `../shared` beside the repository. */
export const sharedRoot = process.env.TEXTGEN_SHARED_DIR
  ? resolve(process.env.TEXTGEN_SHARED_DIR)
  : resolve(repoRoot, '..', 'shared');

/** The folder of fixture models and corpora. */
export const sharedModels = join(sharedRoot, 'models');

/**
 * Why tests that need the fixtures are skipped, or undefined when the fixtures are there. The check
 * looks for the provenance file rather than the folder, so an empty or half-copied folder also skips.
 */
export const sharedMissing: string | undefined = existsSync(join(sharedModels, 'PROVENANCE.md'))
  ? undefined
  : `needs the golden fixtures in ${sharedModels} (not found; set TEXTGEN_SHARED_DIR)`;

/** Test or suite options that skip it, with the reason above, when the fixtures are missing. */
export const needsShared: { skip: string | false } = { skip: sharedMissing ?? false };

/** A path inside the shared models folder. */
export function sharedModel(...parts: string[]): string {
  return join(sharedModels, ...parts);
}

/** Parses a JSON file inside the shared models folder. */
export function readSharedJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(sharedModel(...parts), 'utf8')) as T;
}

type TestFn = (t: TestContext) => void | Promise<void>;
type SuiteFn = (s: SuiteContext) => void | Promise<void>;

/** Merges the fixture skip into a test's own options. */
function withSkip(options: TestOptions): TestOptions {
  return sharedMissing ? { ...options, skip: sharedMissing } : options;
}

/**
 * node:test's `test`, skipped when the fixtures are missing. A file whose every test needs them
 * imports it as `test` (`import { sharedTest as test } ...`), so tests added later skip too.
 */
export function sharedTest(name: string, fn: TestFn): Promise<void>;
export function sharedTest(name: string, options: TestOptions, fn: TestFn): Promise<void>;
export function sharedTest(name: string, a: TestOptions | TestFn, b?: TestFn): Promise<void> {
  return typeof a === 'function' ? test(name, withSkip({}), a) : test(name, withSkip(a), b);
}

/** node:test's `describe`, skipped (its body not even run) when the fixtures are missing. */
export function sharedDescribe(name: string, fn: SuiteFn): Promise<void> {
  return describe(name, withSkip({}), fn);
}

/** node:test's `before`, which does nothing when the fixtures are missing (its tests are skipped). */
export function sharedBefore(fn: () => unknown): void {
  before(async () => {
    if (!sharedMissing) await fn();
  });
}

/** node:test's `after`, likewise. */
export function sharedAfter(fn: () => unknown): void {
  after(async () => {
    if (!sharedMissing) await fn();
  });
}
