// Quantization quality on real fixtures. stories260K (trained weights): perplexity on the TinyStories
// sample (each line from BOS, as `textgen perplexity --by-line`) within +0.5% of fp32 for q8 and +10%
// for q4 (head 8-bit), and top-1 agreement with fp32 over every scored position ≥ 97% / ≥ 78%. The
// random T5 and GPT-2 fixtures quantize (every file of the set) and still generate; their greedy
// agreement with fp32 is reported, not asserted (random weights have near-tied logits).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, quantizeModel, type TextGenerator } from '../../../generation/index.js';
import type { QuantDtype } from '../../../generation/quantize/plan.js';
import {
  fixture,
  generateAll,
  linkFolder,
  STORIES_ONNX_FILES,
  type TempFolder,
} from '../fixtures.js';
import { gpt2Golden, t5Golden } from '../goldens.js';
// Every test here quantizes the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedDescribe,
  sharedTest as test,
} from '../../shared-fixtures.js';

const folders: TempFolder[] = [];

/** A writable copy of a fixture folder (files symlinked) with the given variants quantized in it. */
async function quantizedCopy(name: string, files: string[], dtypes: QuantDtype[]): Promise<string> {
  const entries: Record<string, string> = {};
  for (const f of files) entries[f] = fixture(name, f);
  const folder = linkFolder(entries);
  folders.push(folder);
  for (const dtype of dtypes)
    for await (const _ of quantizeModel({ dir: folder.dir, dtype, check: false }));
  return folder.dir;
}

after(() => {
  for (const f of folders) f.cleanup();
});

let stories: string;
let lines: number[][];

before(async () => {
  stories = await quantizedCopy('stories260K-onnx', [...STORIES_ONNX_FILES], ['q8', 'q4']);
  const text = readFileSync(fixture('corpus-tinystories-sample', 'tinystories-sample.txt'), 'utf8');
  const model = await loadModel(stories, { dtype: 'fp32', inProcess: true });
  lines = [];
  for (const line of text.split(/\r?\n/).filter((l) => l.trim())) {
    const ids = await model.tokenize(line);
    if (ids[0] !== model.info.bosTokenId) ids.unshift(model.info.bosTokenId!);
    lines.push(ids.slice(0, 512));
  }
  await model.dispose();
});

/** Mean NLL of every line through textgen's scoring path. */
async function meanNll(model: TextGenerator): Promise<number> {
  let nll = 0;
  let count = 0;
  for (const ids of lines) {
    const r = await model.score({ ids, scoreFrom: 1 });
    nll += r.nll;
    count += r.count;
  }
  return nll / count;
}

/** The argmax at every position of every line, one full pass per line. */
async function argmaxes(file: string): Promise<number[]> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  const out: number[] = [];
  for (const ids of lines) {
    const n = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [
        1,
        n,
      ]),
    };
    for (const name of session.inputNames)
      if (name.startsWith('past_key_values'))
        feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, 4, 0, 8]);
    const logits = (await session.run(feeds)).logits;
    const data = logits.data as Float32Array;
    const vocab = logits.dims[2];
    for (let t = 0; t < n - 1; t++) {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (data[t * vocab + v] > data[t * vocab + best]) best = v;
      out.push(best);
    }
  }
  await session.release();
  return out;
}

const LIMITS = { q8: { ppl: 1.005, top1: 0.97 }, q4: { ppl: 1.1, top1: 0.78 } } as const;

for (const dtype of ['q8', 'q4'] as const) {
  test(`stories260K ${dtype}: perplexity and top-1 agreement with fp32`, async (t) => {
    const base = await loadModel(stories, { dtype: 'fp32', inProcess: true });
    const variant = await loadModel(stories, { dtype, inProcess: true });
    assert.equal(variant.info.dtype, dtype);
    const ratio = Math.exp((await meanNll(variant)) - (await meanNll(base)));
    await Promise.all([base.dispose(), variant.dispose()]);
    const suffix = dtype === 'q8' ? '_quantized' : '_q4';
    const [a, b] = [
      await argmaxes(join(stories, 'onnx', 'model.onnx')),
      await argmaxes(join(stories, 'onnx', `model${suffix}.onnx`)),
    ];
    const agree = a.filter((id, i) => id === b[i]).length / a.length;
    t.diagnostic(
      `${dtype}: perplexity ×${ratio.toFixed(4)}, top-1 agreement ${(agree * 100).toFixed(1)}% over ${a.length} positions`,
    );
    assert.ok(ratio <= LIMITS[dtype].ppl, `perplexity ratio ${ratio}`);
    assert.ok(agree >= LIMITS[dtype].top1, `top-1 agreement ${agree}`);
  });
}

const T5_FILES = [
  'onnx/encoder_model.onnx',
  'onnx/decoder_model.onnx',
  'onnx/decoder_with_past_model.onnx',
  'onnx/decoder_model_merged.onnx',
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
];
const GPT2_FILES = [
  'onnx/model.onnx',
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

// The prompts come from the golden files, so these are registered only when the fixtures are there.
sharedDescribe('the seeded random models', () => {
  for (const [name, files, prompts] of [
    ['tiny-random-t5', T5_FILES, t5Golden().greedy.cases.map((c) => c.text)],
    ['tiny-random-gpt2', GPT2_FILES, gpt2Golden().greedy.map((c) => c.prompt)],
  ] as const) {
    test(`${name}: every variant quantizes and generates; greedy agreement reported`, async (t) => {
      const dir = await quantizedCopy(name, [...files], ['q4', 'q8', 'int8']);
      const base = await loadModel(dir, { dtype: 'fp32', inProcess: true });
      const reference: number[][] = [];
      for (const p of prompts)
        reference.push((await generateAll(base, p, { max_new_tokens: 12 })).ids[0] ?? []);
      await base.dispose();
      for (const dtype of ['q4', 'q8', 'int8']) {
        const model = await loadModel(dir, { dtype, inProcess: true });
        assert.equal(model.info.dtype, dtype);
        let same = 0;
        let total = 0;
        for (let i = 0; i < prompts.length; i++) {
          const ids = (await generateAll(model, prompts[i], { max_new_tokens: 12 })).ids[0] ?? [];
          assert.ok(ids.length > 0, `${dtype} generated nothing for ${prompts[i]}`);
          // Agreement: the greedy prefix shared with fp32.
          let k = 0;
          while (k < ids.length && ids[k] === reference[i][k]) k++;
          same += k;
          total += reference[i].length;
        }
        await model.dispose();
        t.diagnostic(
          `${name} ${dtype}: ${same}/${total} greedy tokens before the first divergence`,
        );
      }
    });
  }
});
