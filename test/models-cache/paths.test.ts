import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  finalizeLocalModel,
  hubCacheDir,
  localModelDir,
  repoFolderName,
  repoIdFromFolderName,
} from '../../models-cache/paths.js';
import { resolveModel } from '../../models-cache/resolve.js';
import { listCachedModels } from '../../models-cache/scan.js';
import { defaultModelFiles } from './hf-layout.js';

test('the cache location follows huggingface_hub precedence', () => {
  const cases: Array<[NodeJS.ProcessEnv, string]> = [
    [{ HF_HUB_CACHE: '/a', HF_HOME: '/b', XDG_CACHE_HOME: '/c' }, '/a'],
    [{ HF_HOME: '/b', XDG_CACHE_HOME: '/c' }, '/b/hub'],
    [{ XDG_CACHE_HOME: '/c' }, '/c/huggingface/hub'],
    [{}, join(homedir(), '.cache', 'huggingface', 'hub')],
  ];
  for (const [env, expected] of cases) assert.equal(hubCacheDir(env), expected);
});

test('repo folder names round-trip', () => {
  const cases: Array<[string, string]> = [
    ['org/name', 'models--org--name'],
    ['gpt2', 'models--gpt2'],
    ['local/my-model', 'models--local--my-model'],
  ];
  for (const [id, folder] of cases) {
    assert.equal(repoFolderName(id), folder);
    assert.equal(repoIdFromFolderName(folder), id);
  }
  assert.equal(repoIdFromFolderName('datasets--x--y'), undefined);
});

test('finalizeLocalModel points refs/main at the local snapshot, which then resolves and lists', () => {
  const root = mkdtempSync(join(tmpdir(), 'textgen-local-'));
  const env = { HF_HUB_CACHE: root };
  try {
    assert.throws(() => finalizeLocalModel('tiny', env), /No trained model/);
    const dir = localModelDir('tiny', env);
    for (const [path, data] of Object.entries(defaultModelFiles())) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), data);
    }
    assert.equal(finalizeLocalModel('tiny', env), dir);
    assert.equal(readFileSync(join(root, 'models--local--tiny', 'refs', 'main'), 'utf8'), 'local');
    assert.deepEqual(resolveModel('local/tiny', { env }), {
      dir,
      id: 'local/tiny',
      revision: 'local',
    });
    const [entry] = listCachedModels(env);
    assert.equal(entry.id, 'local/tiny');
    assert.deepEqual(entry.refs, ['main']);
    assert.equal(entry.problem, undefined);
    assert.throws(() => finalizeLocalModel('../x', env), /Invalid model id/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
