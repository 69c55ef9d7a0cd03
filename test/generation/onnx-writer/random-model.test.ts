// The random-weight model writer: Llama and GPT-2 folders load in textgen and in transformers.js,
// agree with each other greedily, and the KV-cache path (one token per step) equals the full
// teacher-forced pass, which pins the cache concat, the causal/padding mask and the positions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, AutoModelForCausalLM } from '@huggingface/transformers';
import { loadModel, resolveSettings, type TextGenerator } from '../../../generation/index.js';
import {
  byteLevelTokenizer,
  parameterCount,
  PRESETS,
  writeRandomModel,
} from '../../../generation/onnx-writer/random-model.js';
import { varint } from '../../../generation/onnx-writer/proto.js';
import { inspectModelFolder, selectDtype } from '../../../generation/model/model-folder.js';
import { openModel } from '../../../generation/runtime/open-model.js';
import type { DecoderRunner } from '../../../generation/runtime/decoder-runner.js';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'textgen-onnx-writer-'));
  for (const name of ['llama-tiny', 'gpt2-tiny'])
    writeRandomModel(join(root, name), PRESETS[name], 7);
});
after(() => rmSync(root, { recursive: true, force: true }));

const greedy = (n: number) =>
  resolveSettings({ temperature: 0, max_new_tokens: n, min_new_tokens: n });

async function generateIds(model: TextGenerator, prompts: string[]): Promise<number[][]> {
  for await (const e of model.generate({ prompt: '', prompts, settings: greedy(8) }))
    if (e.type === 'done') return e.sequences.map((s) => s.token_ids);
  throw new Error('no done event');
}

test('varint encodes protobuf int64s, negatives as ten bytes', () => {
  const cases: Array<[number, number[]]> = [
    [0, [0]],
    [1, [1]],
    [127, [127]],
    [128, [0x80, 1]],
    [300, [0xac, 2]],
    [-1, [255, 255, 255, 255, 255, 255, 255, 255, 255, 1]],
  ];
  for (const [v, bytes] of cases) assert.deepEqual([...varint(v)], bytes, String(v));
});

test('parameter counts match the real SmolLM2-135M and the written weight bytes', () => {
  assert.equal(parameterCount(PRESETS['smollm2-135m']), 134_515_008);
  for (const name of ['llama-tiny', 'gpt2-tiny']) {
    const s = PRESETS[name];
    const bytes = statSync(join(root, name, 'onnx', 'model.onnx')).size;
    // Weights are float32; Llama adds its RoPE inverse frequencies; graph structure is a few tens of KB at most.
    const tables = s.arch === 'llama' ? s.headDim : 0;
    const floats = (parameterCount(s) + tables) * 4;
    assert.ok(
      bytes > floats && bytes < floats + 64 * 1024,
      `${name}: ${bytes} bytes for ${floats} weight bytes`,
    );
  }
});

test('the byte-level tokenizer maps every byte to one id and decodes every id', async () => {
  const tok = byteLevelTokenizer(300) as { model: { vocab: Record<string, number> } };
  assert.equal(Object.keys(tok.model.vocab).length, 300);
  assert.deepEqual(new Set(Object.values(tok.model.vocab)).size, 300);
  const model = await loadModel(join(root, 'gpt2-tiny'), { inProcess: true });
  assert.deepEqual(
    await model.tokenize('Hé!'),
    [...Buffer.from('Hé!')].map((b) => b + 1),
  );
  assert.equal(await model.detokenize([73, 296]), 'Hw296');
  await model.dispose();
});

for (const name of ['llama-tiny', 'gpt2-tiny']) {
  test(`${name}: decoding step by step with the cache equals the teacher-forced pass`, async () => {
    const dir = join(root, name);
    const model = await loadModel(dir, { inProcess: true });
    const ids = await model.tokenize('The cache must agree with the full pass.');
    const full = await model.score({ ids, scoreFrom: 1, perToken: true });
    const folder = inspectModelFolder(dir);
    const runner = (
      await openModel(folder, folder.layouts[selectDtype(folder, undefined)]!, { threads: 1 })
    ).runner as DecoderRunner;
    const state = runner.newState(1, 128);
    for (let t = 1; t < ids.length; t++) {
      const row = await runner.forward(state, [[ids[t - 1]]]);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      const nll = Math.log(sum) + max - row[ids[t]];
      assert.ok(
        Math.abs(nll - full.tokenNll![t - 1]) < 1e-4,
        `${name} position ${t}: ${nll} vs ${full.tokenNll![t - 1]}`,
      );
    }
    // Left padding: a batch gives each row what it gives alone.
    const prompts = ['a', 'a longer prompt here'];
    const batch = await generateIds(model, prompts);
    for (let i = 0; i < prompts.length; i++)
      assert.deepEqual(batch[i], (await generateIds(model, [prompts[i]]))[0]);
    await model.dispose();
  });

  test(`${name}: transformers.js loads the folder and generates the same greedy ids`, async () => {
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const dir = join(root, name);
    const model = await loadModel(dir, { inProcess: true });
    const prompt = await model.tokenize('Once upon a time');
    const ours = (await generateIds(model, ['Once upon a time']))[0];
    const peer = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
    const { Tensor } = await import('@huggingface/transformers');
    const input = new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
    const out = (await peer.generate({
      input_ids: input,
      attention_mask: new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [
        1,
        prompt.length,
      ]),
      max_new_tokens: 8,
      min_new_tokens: 8,
      do_sample: false,
    })) as { tolist(): bigint[][] };
    assert.deepEqual(out.tolist()[0].slice(prompt.length).map(Number), ours);
    assert.equal(
      JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).model_type,
      name.split('-')[0],
    );
    await model.dispose();
    await (peer as { dispose(): Promise<unknown> }).dispose();
  });
}
