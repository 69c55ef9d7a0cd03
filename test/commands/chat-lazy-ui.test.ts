// commands/chat.ts must load Ink/React only for the TUI: every reference to ui/ is either type-only
// or the dynamic import of ui/render-chat.js behind the TTY check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

for (const file of [
  'commands/chat.ts',
  'commands/chat-pipe.ts',
  'commands/chat-sessions.ts',
  'commands/user-config.ts',
]) {
  test(`${file} has no value import of ui/, ink or react`, () => {
    const source = readFileSync(resolve(root, file), 'utf8');
    const staticImports = [
      ...source.matchAll(/^import\s+(type\s+)?[^'"]*from\s+['"]([^'"]+)['"]/gm),
    ];
    assert.ok(staticImports.length > 0);
    const offending = staticImports.filter(
      (m) => !m[1] && (/\/ui\//.test(m[2]) || /^(ink|react)(\/|$)/.test(m[2])),
    );
    assert.deepEqual(
      offending.map((m) => m[0]),
      [],
    );
  });
}

test('the TUI is imported dynamically, only on the interactive path', () => {
  const source = readFileSync(resolve(root, 'commands/chat.ts'), 'utf8');
  const dynamic = [...source.matchAll(/await import\(['"]([^'"]+)['"]\)/g)].map((m) => m[1]);
  assert.deepEqual(dynamic, ['../ui/render-chat.js']);
  const interactive = source.slice(source.indexOf('async function runInteractive'));
  assert.ok(interactive.includes("await import('../ui/render-chat.js')"));
  assert.match(
    source,
    /const piped = !ctx\.stdin\.isTTY \|\| !ctx\.stdout\.isTTY;[\s\S]*if \(piped\) return await runPiped\(/,
  );
});
