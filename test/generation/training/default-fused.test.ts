// The embedded default model also ships textgen's fused graph (onnx/textgen_decoder.onnx, rebuilt by
// scripts/rebuild-default-fused.ts from the weights in onnx/model.onnx, and written by `textgen train`
// for every trained model). textgen opens the fused file; its text must be the optimum file's, token for
// token, greedy and sampled with the shipped defaults.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, resolveSettings, type TextGenerator } from '../../../generation/index.js';
import {
  readFloatInitializers,
  storedWeights,
} from '../../../generation/onnx-writer/read-weights.js';
import { generateAll, linkFolder, repoRoot, type TempFolder } from '../fixtures.js';

const dir = join(repoRoot, 'models', 'default');
let fused: TextGenerator;
let optimum: TextGenerator;
let plain: TempFolder;

before(async () => {
  // The same folder without the fused file: textgen then runs onnx/model.onnx.
  const entries: Record<string, string> = { 'onnx/model.onnx': join(dir, 'onnx', 'model.onnx') };
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) entries[f] = join(dir, f);
  plain = linkFolder(entries);
  fused = await loadModel(dir, { inProcess: true, threads: 1 });
  optimum = await loadModel(plain.dir, { inProcess: true, threads: 1 });
});

after(async () => {
  await fused.dispose();
  await optimum.dispose();
  plain.cleanup();
});

test('the default model opens its fused file, with the zero-copy cache', () => {
  assert.equal(fused.info.cacheLayout, 'zero-copy');
  assert.deepEqual(
    fused.info.onnxFiles.map((f) => f.split('/').pop()),
    ['textgen_decoder.onnx'],
  );
  assert.equal(optimum.info.cacheLayout, 'growing');
});

test('the fused file holds exactly the weights of onnx/model.onnx', () => {
  const a = readFloatInitializers(join(dir, 'onnx', 'model.onnx'));
  const b = storedWeights(readFloatInitializers(join(dir, 'onnx', 'textgen_decoder.onnx')));
  for (const name of ['model.embed_tokens.weight', 'model.norm.weight']) {
    const w = a.get(name)!;
    assert.deepEqual(b(name, w.dims, 'normal'), w.data, name);
  }
  const layer = 'model.layers.3';
  const down = a.get(`${layer}.mlp.down_proj.weight`)!;
  assert.deepEqual(b(`${layer}.mlp.down_proj.weight`, down.dims, 'normal'), down.data);
});

const PROMPTS = ['Call me Ishmael.', 'The whale', 'Captain Ahab said', 'It was a dark night'];

test('greedy text equals the optimum graph text, token for token', async () => {
  let tokens = 0;
  for (const prompt of PROMPTS) {
    const a = await generateAll(fused, prompt, { max_new_tokens: 48 });
    const b = await generateAll(optimum, prompt, { max_new_tokens: 48 });
    assert.deepEqual(a.done.sequences[0].token_ids, b.done.sequences[0].token_ids, prompt);
    assert.equal(a.done.sequences[0].text, b.done.sequences[0].text);
    tokens += a.done.sequences[0].token_ids.length;
  }
  assert.ok(tokens >= 60, `only ${tokens} tokens compared`);
});

test('sampled text with the shipped defaults and a seed equals the optimum graph text', async () => {
  for (const prompt of PROMPTS) {
    const layer = { ...fused.info.generationDefaults, seed: 7, max_new_tokens: 40 };
    const settings = resolveSettings(fused.info.generationDefaults, layer);
    assert.equal(settings.do_sample, true);
    const a = await generateAll(fused, prompt, layer);
    const b = await generateAll(optimum, prompt, layer);
    assert.equal(a.done.sequences[0].text, b.done.sequences[0].text, prompt);
  }
});
