import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, TextgenError } from '../../generation/errors.js';
import { embeddedModelDir, resolveModel } from '../../models-cache/resolve.js';
import { defaultModelFiles, fakeCommit, repoRoot, writeHfSnapshot } from './hf-layout.js';

const c1 = fakeCommit('one');
const c2 = fakeCommit('two');
let root: string;
let env: NodeJS.ProcessEnv;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'textgen-resolve-'));
  env = { HF_HUB_CACHE: join(root, 'hub') };
  const files = defaultModelFiles();
  writeHfSnapshot(env.HF_HUB_CACHE!, 'org/name', c1, files, ['v1.0', 'refs/pr/1']);
  writeHfSnapshot(env.HF_HUB_CACHE!, 'org/name', c2, files, ['main']);
  writeHfSnapshot(env.HF_HUB_CACHE!, 'gpt2', c1, files, ['main']);
  mkdirSync(join(env.HF_HUB_CACHE!, 'models--local--trained', 'snapshots', 'local'), {
    recursive: true,
  });
});
after(() => rmSync(root, { recursive: true, force: true }));

const snap = (id: string, commit: string) =>
  join(root, 'hub', `models--${id.split('/').join('--')}`, 'snapshots', commit);

test('specs resolve offline to folders and cached snapshots', () => {
  const folder = join(repoRoot, 'models', 'default');
  const cases: Array<
    [string | undefined, string | undefined, { dir: string; id: string; revision?: string }]
  > = [
    [folder, undefined, { dir: folder, id: folder }],
    ['org/name', undefined, { dir: snap('org/name', c2), id: 'org/name', revision: c2 }],
    ['org/name@main', undefined, { dir: snap('org/name', c2), id: 'org/name', revision: c2 }],
    ['org/name@v1.0', undefined, { dir: snap('org/name', c1), id: 'org/name', revision: c1 }],
    ['org/name@refs/pr/1', undefined, { dir: snap('org/name', c1), id: 'org/name', revision: c1 }],
    [`org/name@${c1}`, undefined, { dir: snap('org/name', c1), id: 'org/name', revision: c1 }],
    [
      `org/name@${c1.slice(0, 8)}`,
      undefined,
      { dir: snap('org/name', c1), id: 'org/name', revision: c1 },
    ],
    ['gpt2', undefined, { dir: snap('gpt2', c1), id: 'gpt2', revision: c1 }],
    [
      'local/trained',
      undefined,
      { dir: snap('local/trained', 'local'), id: 'local/trained', revision: 'local' },
    ],
    [undefined, 'org/name@v1.0', { dir: snap('org/name', c1), id: 'org/name', revision: c1 }],
    ['  ', 'gpt2', { dir: snap('gpt2', c1), id: 'gpt2', revision: c1 }],
  ];
  for (const [spec, configuredDefault, expected] of cases)
    assert.deepEqual(resolveModel(spec, { env, configuredDefault }), expected, String(spec));
});

test('models that are not cached fail with notFound and the exact pull command', () => {
  const cases: Array<[string, RegExp]> = [
    ['org/other', /`textgen models pull org\/other`/],
    ['org/name@v2', /`textgen models pull org\/name@v2`/],
    [`org/name@${'f'.repeat(40)}`, new RegExp(`textgen models pull org/name@${'f'.repeat(40)}`)],
    ['local/missing', /textgen train/],
    ['./no/such/folder', /existing folder/],
    ['org/na--me', /neither a model folder nor a model id/],
  ];
  for (const [spec, hint] of cases) {
    assert.throws(
      () => resolveModel(spec, { env }),
      (error: unknown) =>
        error instanceof TextgenError &&
        error.exitCode === ExitCode.notFound &&
        hint.test(`${error.message} ${error.hint}`),
      spec,
    );
  }
});

test('without a spec or configured default, the embedded model is used or --model is asked for', () => {
  // The embedded model is trained separately and may not be in this checkout yet.
  if (existsSync(embeddedModelDir())) {
    assert.deepEqual(resolveModel(undefined, { env }), { dir: embeddedModelDir(), id: 'default' });
  } else {
    assert.throws(
      () => resolveModel(undefined, { env }),
      (error: unknown) =>
        error instanceof TextgenError &&
        error.exitCode === ExitCode.notFound &&
        /--model/.test(error.hint ?? ''),
    );
  }
  assert.equal(embeddedModelDir(), join(repoRoot, 'models', 'default'));
});
