// A folder textgen wrote itself (convert, train: the embedded model) holds two graphs of the same
// weights, the transformers.js-compatible one and the fused zero-copy one. Quantizing it must write
// both variants, so that `--dtype q4` keeps the zero-copy path, and the two must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadModel,
  quantizeModel,
  resolveSettings,
  type QuantizeEvent,
} from '../../../generation/index.js';
import { repoRoot } from '../../shared-fixtures.js';

/** Greedy ids of `prompt` on `dir`'s q4 variant, and the cache layout that ran them. */
async function greedyQ4(dir: string, prompt: string) {
  const model = await loadModel(dir, { dtype: 'q4', inProcess: true });
  try {
    const settings = resolveSettings(model.info.generationDefaults, {
      max_new_tokens: 8,
      do_sample: false,
    });
    let ids: number[] = [];
    for await (const event of model.generate({ prompt, settings, addSpecialTokens: true }))
      if (event.type === 'done') ids = event.sequences[0].token_ids;
    return { ids, layout: model.info.cacheLayout };
  } finally {
    await model.dispose();
  }
}

test('quantizing a fused folder writes both graphs; the fused q4 runs zero-copy and agrees', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'textgen-quantize-fused-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(repoRoot, 'models', 'default'), dir, { recursive: true });
  const events: QuantizeEvent[] = [];
  for await (const event of quantizeModel({ dir, dtype: 'q4', check: false })) events.push(event);
  const start = events.find((e) => e.type === 'start');
  assert.deepEqual(start?.type === 'start' ? start.files.map((f) => f.target) : [], [
    'onnx/model_q4.onnx',
    'onnx/textgen_decoder_q4.onnx',
  ]);
  const fused = await greedyQ4(dir, 'Call me Ishmael.');
  assert.equal(fused.layout, 'zero-copy');
  // The same weights through the compatible graph alone (growing cache).
  rmSync(join(dir, 'onnx', 'textgen_decoder_q4.onnx'));
  assert.ok(existsSync(join(dir, 'onnx', 'model_q4.onnx')), 'the compatible variant is kept');
  const compatible = await greedyQ4(dir, 'Call me Ishmael.');
  assert.equal(compatible.layout, 'growing');
  // The first tokens agree (the heads are quantized alike; far tokens may drift at near-ties).
  assert.deepEqual(fused.ids.slice(0, 4), compatible.ids.slice(0, 4));
});
