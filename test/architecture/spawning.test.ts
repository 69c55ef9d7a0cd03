// Processes are spawned through execa (issue 18.10). Two documented exceptions use node's own API:
// the ldconfig lookup on every `--device auto` load (execa's import costs more than the call) and
// the chat-template renderer, a long-lived IPC worker started with fork.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const EXCEPTIONS = [
  join('generation', 'runtime', 'device.ts'),
  join('generation', 'chat', 'template-render.ts'),
];

test('only the documented exceptions import node:child_process; everything else uses execa', () => {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name)) {
        const text = readFileSync(join(root, path), 'utf8');
        if (/from '(node:)?child_process'|require\('(node:)?child_process'\)/.test(text))
          found.push(path);
      }
    }
  };
  for (const dir of [
    'bin',
    'cli',
    'commands',
    'common',
    'ui',
    'models-cache',
    'server',
    'generation',
  ])
    walk(dir);
  assert.deepEqual(found.sort(), [...EXCEPTIONS].sort());
  for (const path of EXCEPTIONS)
    assert.match(readFileSync(join(root, path), 'utf8'), /not execa|rather than execa/, path);
});
