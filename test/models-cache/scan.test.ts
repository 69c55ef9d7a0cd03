import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listCachedModels } from '../../models-cache/scan.js';
import { fakeCommit, fixtureFiles, writeHfSnapshot } from './hf-layout.js';
// The expected sizes and facts are stories260K's: skipped, with the reason, without the fixtures.
import { sharedTest as test } from '../shared-fixtures.js';

test('listCachedModels describes every snapshot and reports damage without throwing', () => {
  const cache = mkdtempSync(join(tmpdir(), 'textgen-scan-'));
  try {
    const stories = fixtureFiles('stories260K-onnx');
    writeHfSnapshot(cache, 'org/ok', fakeCommit('ok'), stories);
    writeHfSnapshot(cache, 'org/badjson', fakeCommit('bad'), {
      ...stories,
      'config.json': '{not json',
    });
    writeHfSnapshot(cache, 'org/no-tokenizer', fakeCommit('nt'), {
      'config.json': stories['config.json'],
      'onnx/model.onnx': stories['onnx/model.onnx'],
    });
    mkdirSync(join(cache, 'models--org--dangling', 'refs'), { recursive: true });
    writeFileSync(join(cache, 'models--org--dangling', 'refs', 'main'), fakeCommit('gone'));
    mkdirSync(join(cache, 'models--org--empty', 'blobs'), { recursive: true });
    mkdirSync(join(cache, 'datasets--org--data'), { recursive: true });
    writeFileSync(join(cache, 'version.txt'), '1');
    const entries = listCachedModels({ HF_HUB_CACHE: cache });
    const byId = Object.fromEntries(entries.map((e) => [e.id, e]));
    assert.deepEqual(Object.keys(byId), [
      'org/badjson',
      'org/dangling',
      'org/empty',
      'org/no-tokenizer',
      'org/ok',
    ]);
    assert.deepEqual(
      { ...byId['org/ok'], dir: undefined },
      {
        id: 'org/ok',
        revision: fakeCommit('ok'),
        refs: ['main'],
        dir: undefined,
        sizeBytes: 1082992 + 489 + 92 + 72 + 15297 + 269,
        architecture: 'LlamaForCausalLM',
        task: 'text-generation',
        dtypes: ['fp32'],
        contextLength: 512,
      },
    );
    assert.deepEqual(
      [byId['org/badjson'].problem, byId['org/badjson'].damaged],
      ['config.json is not valid JSON', true],
    );
    assert.deepEqual(
      [byId['org/dangling'].problem, byId['org/dangling'].damaged],
      ['refs/main points at a missing snapshot', true],
    );
    assert.equal(byId['org/empty'].damaged, true);
    assert.match(byId['org/no-tokenizer'].problem!, /tokenizer\.json/);
    assert.equal(byId['org/no-tokenizer'].damaged, undefined);
    assert.deepEqual(listCachedModels({ HF_HUB_CACHE: join(cache, 'missing') }), []);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
