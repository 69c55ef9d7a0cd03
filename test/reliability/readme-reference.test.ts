// Issue 18: the README's command reference matches `--help`. The section is generated from the same
// definitions (npm run docs:commands); this test fails when it falls behind, and checks the commands
// and flags against what the built binary's help prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  commandReference,
  REFERENCE_END,
  REFERENCE_START,
  withReference,
} from '../../cli/reference.js';
import { assertBuilt, repoRoot, sandbox, textgen } from './harness.js';

const readme = () => readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The README's reference section, by command: the long flag names listed under its heading. */
function readmeFlags(): Map<string, string[]> {
  const text = readme();
  const section = text.slice(text.indexOf(REFERENCE_START), text.indexOf(REFERENCE_END));
  const out = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of section.split('\n')) {
    const heading = /^### textgen (\S+)/.exec(line);
    if (heading) out.set((current = heading[1]), []);
    const flag = /^- `(?:-\w, )?--([\w-]+)/.exec(line);
    if (flag && current) out.get(current)!.push(flag[1]);
  }
  return out;
}

/** The long flags `textgen help COMMAND` prints. */
function helpFlags(help: string): string[] {
  const flags = help.slice(help.indexOf('\nFlags:\n'), help.indexOf('\nExamples:\n'));
  return [...flags.matchAll(/^ {2}(?:-\w, | {4})--([\w-]+)/gm)].map((m) => m[1]);
}

test('the README command reference is the generated one (run `npm run docs:commands`)', async () => {
  const current = readme();
  assert.ok(
    current.includes(REFERENCE_START) && current.includes(REFERENCE_END),
    'README holds both command-reference markers',
  );
  assert.equal(current, withReference(current, await commandReference()));
});

test('the README lists every command of `textgen help`, each with the flags of its --help', async () => {
  assertBuilt();
  const box = sandbox();
  try {
    const overview = String((await textgen(['help'], box.env)).stdout);
    const commands = [
      ...overview
        .slice(overview.indexOf('Commands:'))
        .split('\n\n')[0]
        .matchAll(/^ {2}(\S+)/gm),
    ].map((m) => m[1]);
    const documented = readmeFlags();
    assert.deepEqual([...documented.keys()], commands);
    for (const command of commands) {
      const help = String((await textgen(['help', command], box.env)).stdout);
      assert.deepEqual(documented.get(command), helpFlags(help), `flags of ${command}`);
    }
  } finally {
    box.cleanup();
  }
});
