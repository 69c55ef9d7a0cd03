#!/usr/bin/env node
// Runs node:test through tsx with an explicit file list: on Node 20 a quoted glob silently finds
// nothing, so the files are collected here. Arguments narrow the run to given files or folders.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { execaSync } from 'execa';

const root = new URL('..', import.meta.url).pathname;

function collect(path, out) {
  const stat = statSync(path);
  if (stat.isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  } else if (/\.test\.tsx?$/.test(path)) {
    out.push(relative(root, path));
  }
  return out;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ['test']).flatMap((t) => collect(join(root, t), []));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
// Said once up front; each skipped test also carries the reason (test/shared-fixtures.ts decides).
const shared = resolve(process.env.TEXTGEN_SHARED_DIR ?? join(root, '..', 'shared'), 'models');
if (!existsSync(join(shared, 'PROVENANCE.md')))
  console.error(
    `run-tests: no golden fixtures at ${shared}: the tests that need them are skipped ` +
      '(see "Tests and their fixtures" in README.md; TEXTGEN_SHARED_DIR points elsewhere).',
  );
const result = execaSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { TEXTGEN_TEST: '1' }, reject: false },
);
process.exit(result.exitCode ?? 1);
