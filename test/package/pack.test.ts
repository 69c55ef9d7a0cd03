// The npm package as a consumer gets it, offline: `npm pack` the built project, install the tarball
// into an empty folder with `npm install --offline` (the dependencies are placed there first from
// this checkout's node_modules, as a consumer's cache or registry would provide them; onnxruntime-node's
// download is skipped the documented way), then run `npx textgen generate` on the embedded model,
// `import` the API, and type-check a TypeScript consumer against the shipped declarations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../shared-fixtures.js';

/** The production dependency folders (node_modules/NAME or node_modules/@scope/NAME) of the repo. */
async function productionPackages(): Promise<string[]> {
  const ls = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: repoRoot,
    reject: false,
  });
  const tops = String(ls.stdout)
    .split('\n')
    .map((p) => relative(repoRoot, p))
    .filter((p) => p.startsWith('node_modules/'))
    .map((p) => /^node_modules\/(@[^/]+\/)?[^/]+/.exec(p)![0]);
  return [...new Set(tops)];
}

/**
 * Copies a folder by hard links where the file system allows (else by copying), leaving out the
 * onnxruntime binaries of other platforms: npm does not look inside installed packages.
 */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const stat = lstatSync(src);
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (stat.isDirectory()) {
      const napi = /\/bin\/napi-v\d+$/.test(from);
      const platform = /\/bin\/napi-v\d+\/[^/]+$/.test(from);
      if ((napi && name !== process.platform) || (platform && name !== process.arch)) continue;
      linkTree(src, dst);
    } else {
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
      }
    }
  }
}

test('npm pack → offline install into an empty folder → npx textgen generate, import and types', async (t) => {
  assert.ok(
    existsSync(join(repoRoot, 'dist', 'generation', 'index.d.ts')),
    'dist/ with declarations is built (npm run build)',
  );
  const root = mkdtempSync(join(tmpdir(), 'textgen-pack-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: join(root, 'home'),
    // The npm cache stays the user's (offline mode only reads it); everything else is sandboxed.
    npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? root, '.npm'),
    HF_HUB_CACHE: join(root, 'hub'),
    TEXTGEN_CONFIG_DIR: join(root, 'config'),
    TEXTGEN_DATA_DIR: join(root, 'data'),
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  };
  const run = (file: string, args: string[], cwd: string) =>
    // Empty stdin: generate reads a pipe as the prompt's first part, and would wait on an open one.
    execa(file, args, { cwd, env, extendEnv: false, reject: false, input: '', timeout: 300_000 });

  const packed = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', root],
    repoRoot,
  );
  assert.equal(packed.exitCode, 0, String(packed.stderr));
  const [info] = JSON.parse(String(packed.stdout)) as Array<{
    filename: string;
    name: string;
    files: Array<{ path: string }>;
  }>;
  assert.equal(info.name, 'textgen-onnx');
  const files = info.files.map((f) => f.path);
  for (const f of ['bin/textgen.js', 'dist/generation/index.js', 'dist/generation/index.d.ts'])
    assert.ok(files.includes(f), `the tarball has ${f}`);
  assert.ok(files.includes('models/default/onnx/model.onnx'), 'the embedded model ships');
  assert.ok(
    !files.some((f) => /^(test|bench|generation|commands)\//.test(f) || f.endsWith('.map')),
    `no sources, tests or source maps: ${files.filter((f) => !f.startsWith('dist/')).join(', ')}`,
  );

  const consumer = join(root, 'consumer');
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }),
  );
  for (const dir of await productionPackages()) linkTree(join(repoRoot, dir), join(consumer, dir));
  const installed = await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', join(root, info.filename)],
    consumer,
  );
  assert.equal(installed.exitCode, 0, String(installed.stderr));

  const args = ['generate', '-n', '12', '--temperature', '0', '--json', 'Call me Ishmael.'];
  const cli = await run('npx', ['--offline', 'textgen', ...args], consumer);
  assert.equal(cli.exitCode, 0, String(cli.stderr));
  const fromCli = JSON.parse(String(cli.stdout)) as {
    model: string;
    sequences: Array<{ token_ids: number[]; text: string }>;
  };
  assert.ok(fromCli.sequences[0].token_ids.length > 0, 'the embedded model generated tokens');
  const fromRepo = await run('node', [join(repoRoot, 'bin', 'textgen.js'), ...args], root);
  assert.deepEqual(
    fromCli.sequences,
    (JSON.parse(String(fromRepo.stdout)) as typeof fromCli).sequences,
    'the installed package generates what the checkout generates',
  );

  writeFileSync(
    join(consumer, 'use.mjs'),
    `import { loadModel, resolveSettings } from 'textgen-onnx';
const model = await loadModel(new URL('./node_modules/textgen-onnx/models/default', import.meta.url).pathname);
const settings = resolveSettings(model.info.generationDefaults, { do_sample: false, max_new_tokens: 12 });
for await (const e of model.generate({ prompt: 'Call me Ishmael.', settings }))
  if (e.type === 'done') process.stdout.write(JSON.stringify(e.sequences[0].token_ids));
await model.dispose();
`,
  );
  const imported = await run('node', ['use.mjs'], consumer);
  assert.equal(imported.exitCode, 0, String(imported.stderr));
  assert.deepEqual(JSON.parse(String(imported.stdout)), fromCli.sequences[0].token_ids);

  // A TypeScript consumer resolves the declarations through "exports" (Node's types: @types/node).
  writeFileSync(
    join(consumer, 'use.ts'),
    `import { loadModel, type GenerationEvent, type TextGenerator } from 'textgen-onnx';
const model: Promise<TextGenerator> = loadModel('models/default');
export const kinds: Array<GenerationEvent['type']> = ['token', 'done'];
void model;
`,
  );
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(repoRoot, 'node_modules', '@types')],
      },
      files: ['use.ts'],
    }),
  );
  const tsc = await run(
    'node',
    [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
    consumer,
  );
  assert.equal(tsc.exitCode, 0, `${tsc.stdout}${tsc.stderr}`);
});
