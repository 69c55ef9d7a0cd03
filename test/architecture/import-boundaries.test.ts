// Enforces DEVELOPERS.md's import direction: bin → cli → commands → {ui, generation, models-cache};
// only generation/runtime/ imports onnxruntime-node; ui/ never imports ORT or fs; generation/ never
// imports ui, cli or models-cache. Reads every source file's import specifiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const layers = ['cli', 'commands', 'ui', 'generation', 'models-cache'] as const;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|tsx)$/.test(name)) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const re =
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

/** The top-level folder a relative import lands in, or the bare package name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.'))
    return spec.startsWith('node:')
      ? spec
      : spec
          .split('/')
          .slice(0, spec.startsWith('@') ? 2 : 1)
          .join('/');
  return relative(root, resolve(file, '..', spec)).split(sep)[0];
}

const allowed: Record<(typeof layers)[number], string[]> = {
  cli: ['cli', 'commands', 'generation'],
  commands: ['commands', 'ui', 'generation', 'models-cache'],
  ui: ['ui', 'generation'],
  generation: ['generation'],
  'models-cache': ['models-cache', 'generation'],
};

test('each layer imports only the layers below it', () => {
  const violations: string[] = [];
  for (const layer of layers) {
    for (const file of sources(join(root, layer))) {
      for (const spec of importsOf(file)) {
        const to = target(file, spec);
        if ((layers as readonly string[]).includes(to) && !allowed[layer].includes(to)) {
          violations.push(`${relative(root, file)} imports ${spec}`);
        }
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('only generation/runtime imports onnxruntime-node', () => {
  const violations: string[] = [];
  for (const layer of layers) {
    for (const file of sources(join(root, layer))) {
      const rel = relative(root, file);
      if (rel.startsWith(join('generation', 'runtime') + sep)) continue;
      if (importsOf(file).some((s) => s.startsWith('onnxruntime'))) violations.push(rel);
    }
  }
  assert.deepEqual(violations, []);
});

test('ui never imports fs or ORT; generation and models-cache never import ink or react', () => {
  const violations: string[] = [];
  for (const file of sources(join(root, 'ui'))) {
    for (const spec of importsOf(file))
      if (/^(node:)?fs(\/|$)|^onnxruntime/.test(spec))
        violations.push(`${relative(root, file)} imports ${spec}`);
  }
  for (const layer of ['generation', 'models-cache']) {
    for (const file of sources(join(root, layer))) {
      for (const spec of importsOf(file))
        if (/^(ink|react)(\/|$)|^ink-/.test(spec))
          violations.push(`${relative(root, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the check itself sees a violation', () => {
  // Guards against a regex that silently matches nothing.
  const fake = join(root, 'ui', 'fake.tsx');
  assert.equal(target(fake, 'onnxruntime-node'), 'onnxruntime-node');
  assert.equal(target(fake, '../cli/main.js'), 'cli');
  assert.ok(
    importsOf(join(root, 'cli', 'main.ts')).some((s) => s.includes('generation/errors')),
    "importsOf(join(root, 'cli', 'main.ts')).some((s) => s.includes('generation/errors'))",
  );
});
