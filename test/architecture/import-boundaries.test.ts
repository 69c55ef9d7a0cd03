// The import rules of .dependency-cruiser.cjs (`npm run lint`), run as the linter runs them: the tree
// has no violation, and a temp copy of it with planted imports has exactly the planted ones, among
// them a transitive one (ui → generation/index.ts → ... → onnxruntime-node) that no direct-import
// check can see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';

const root = resolve(import.meta.dirname, '..', '..');
const SOURCES = ['common', 'cli', 'commands', 'ui', 'models-cache', 'generation'];

/** One reported violation: the rule and the modules it links. */
interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Runs dependency-cruiser with the project's config in `cwd`; returns its violations. */
async function cruise(cwd: string): Promise<Violation[]> {
  const result = await execa(
    join(root, 'node_modules', '.bin', 'depcruise'),
    [...SOURCES, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'],
    { cwd, reject: false },
  );
  assert.ok(result.stdout.startsWith('{'), `depcruise printed no JSON: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations;
}

/** Violations as sorted "rule: from → to" lines, for messages and comparisons. */
const lines = (violations: Violation[]) =>
  violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();

test('the tree has no import violations', async () => {
  assert.deepEqual(lines(await cruise(root)), []);
});

test('planted imports in a temp copy are found, the transitive ui → index → runtime one included', async (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'textgen-depcruise-'));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  for (const name of [...SOURCES, 'package.json', 'tsconfig.json', '.dependency-cruiser.cjs'])
    cpSync(join(root, name), join(copy, name), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  const plant = (file: string, code: string) => {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    writeFileSync(join(copy, file), code);
  };
  // Only through the public surface, yet it reaches ONNX Runtime.
  plant('ui/planted.ts', "export { loadModel } from '../generation/index.js';\n");
  plant('ui/planted-fs.ts', "export { readFileSync } from 'node:fs';\n");
  plant('common/planted.ts', "export { resolveSettings } from '../generation/settings.js';\n");
  plant('generation/tokenizer/planted.ts', "export { openSession } from '../runtime/ort.js';\n");
  // runtime/layouts/ is where the cache layouts go; the runtime rule covers it before it exists.
  plant(
    'generation/runtime/layouts/planted.ts',
    "export { expandRows } from '../../decode/sample-loop.js';\n",
  );
  plant('generation/decode/planted.ts', "export { loadModel } from '../host/text-generator.js';\n");
  plant('generation/planted-ort.ts', "export * as ort from 'onnxruntime-node';\n");

  const found = await cruise(copy);
  const report = lines(found).join('\n');
  /** The distinct modules a rule reports violations from. */
  const from = (rule: string) => [
    ...new Set(found.filter((v) => v.rule.name === rule).map((v) => v.from)),
  ];
  assert.deepEqual(from('ui-never-reaches-ort'), ['ui/planted.ts'], report);
  assert.ok(
    found.some((v) => v.rule.name === 'ui-never-reaches-ort' && /onnxruntime-node/.test(v.to)),
    `the transitive path ends in onnxruntime-node:\n${report}`,
  );
  assert.deepEqual(from('ui-has-no-file-access'), ['ui/planted-fs.ts'], report);
  assert.deepEqual(from('common-is-a-leaf'), ['common/planted.ts'], report);
  assert.deepEqual(from('core-leaves-stay-leaves'), ['generation/tokenizer/planted.ts'], report);
  assert.deepEqual(
    from('runtime-below-decode-chat-host'),
    ['generation/runtime/layouts/planted.ts'],
    report,
  );
  assert.deepEqual(from('decode-below-chat-host'), ['generation/decode/planted.ts'], report);
  assert.deepEqual(from('ort-only-in-runtime'), ['generation/planted-ort.ts'], report);
  assert.ok(
    found.every((v) => v.from.includes('planted')),
    `only planted files violate:\n${report}`,
  );
});
