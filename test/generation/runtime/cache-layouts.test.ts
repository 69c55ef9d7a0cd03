// One random Llama written as three causal-LM layouts: onnx/model.onnx with past_key_values inputs,
// onnx/model.onnx without them (the runner recomputes the whole sequence each step), and the older
// optimum pair decoder_model.onnx (no past, used while the cache is empty) + decoder_with_past_model.onnx.
// All three must decode the same greedy ids and score the same per-token NLL, and a left-padded batch on
// the no-past model must give each row what it gives alone (the recomputed positions and mask).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  inspectModelFolder,
  loadModel,
  resolveSettings,
  type TextGenerator,
} from '../../../generation/index.js';
import {
  PRESETS,
  writeRandomModel,
  type RandomModelFiles,
} from '../../../generation/onnx-writer/random-model.js';

const LAYOUTS: RandomModelFiles[] = ['with-past', 'no-past', 'split'];
const PROMPTS = ['a', 'Once upon a time', 'Every layout must agree on this.'];
const NEW_TOKENS = 24;

let root: string;
const models = new Map<RandomModelFiles, TextGenerator>();

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'textgen-cache-layouts-'));
  for (const files of LAYOUTS) {
    writeRandomModel(join(root, files), PRESETS['llama-tiny'], 11, files);
    models.set(files, await loadModel(join(root, files), { inProcess: true, threads: 1 }));
  }
});

after(async () => {
  for (const model of models.values()) await model.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** Greedy ids of every prompt, as one left-padded batch when there are several. */
async function greedyIds(model: TextGenerator, prompts: string[]): Promise<number[][]> {
  const settings = resolveSettings(model.info.generationDefaults, {
    temperature: 0,
    max_new_tokens: NEW_TOKENS,
  });
  for await (const e of model.generate({ prompt: '', prompts, settings }))
    if (e.type === 'done') return e.sequences.map((s) => s.token_ids);
  throw new Error('no done event');
}

test('the folders are inspected as the layouts they were written as', () => {
  assert.equal(inspectModelFolder(join(root, 'with-past')).layouts.fp32?.kind, 'decoder');
  assert.equal(inspectModelFolder(join(root, 'no-past')).layouts.fp32?.kind, 'decoder');
  const split = inspectModelFolder(join(root, 'split')).layouts.fp32;
  assert.equal(split?.kind, 'decoder-split');
  assert.equal(existsSync(join(root, 'split', 'onnx', 'model.onnx')), false);
  assert.deepEqual(
    LAYOUTS.map((l) => models.get(l)!.info.cached),
    [true, false, true],
  );
});

test('greedy ids are identical across the three layouts', async () => {
  let compared = 0;
  for (const prompt of PROMPTS) {
    const reference = (await greedyIds(models.get('with-past')!, [prompt]))[0];
    compared += reference.length;
    for (const files of ['no-past', 'split'] as const) {
      assert.deepEqual(
        (await greedyIds(models.get(files)!, [prompt]))[0],
        reference,
        `${files}, ${JSON.stringify(prompt)}`,
      );
    }
  }
  // eos is id 0: a model that stopped at once on every prompt would make the comparison hollow.
  assert.ok(compared >= (PROMPTS.length * NEW_TOKENS) / 2, `only ${compared} tokens compared`);
});

test('teacher-forced scores are identical across the three layouts', async () => {
  const ids = await models.get('with-past')!.tokenize(PROMPTS[2]);
  const reference = (await models.get('with-past')!.score({ ids, scoreFrom: 1, perToken: true }))
    .tokenNll!;
  assert.equal(reference.length, ids.length - 1);
  for (const files of ['no-past', 'split'] as const) {
    const nll = (await models.get(files)!.score({ ids, scoreFrom: 1, perToken: true })).tokenNll!;
    nll.forEach((x, i) =>
      assert.ok(
        Math.abs(x - reference[i]) < 1e-4,
        `${files} position ${i + 1}: ${x} vs ${reference[i]}`,
      ),
    );
  }
});

test('the split pair runs decoder_model.onnx while the cache is empty', async () => {
  // A pair whose first file holds other weights: the prompt's logits (the first generated token, and the
  // scores of a teacher-forced pass) must then be that model's, which they are only if it is the one run.
  const other = join(root, 'other');
  const hybrid = join(root, 'hybrid');
  writeRandomModel(other, PRESETS['llama-tiny'], 12, 'no-past');
  cpSync(join(root, 'split'), hybrid, { recursive: true });
  copyFileSync(join(other, 'onnx', 'model.onnx'), join(hybrid, 'onnx', 'decoder_model.onnx'));
  const [otherModel, hybridModel] = [
    await loadModel(other, { inProcess: true, threads: 1 }),
    await loadModel(hybrid, { inProcess: true, threads: 1 }),
  ];
  try {
    const ids = await hybridModel.tokenize(PROMPTS[1]);
    const expected = (await otherModel.score({ ids, scoreFrom: 1, perToken: true })).tokenNll!;
    const actual = (await hybridModel.score({ ids, scoreFrom: 1, perToken: true })).tokenNll!;
    actual.forEach((x, i) =>
      assert.ok(Math.abs(x - expected[i]) < 1e-4, `position ${i + 1}: ${x} vs ${expected[i]}`),
    );
    const firsts = async (model: TextGenerator) =>
      (await greedyIds(model, PROMPTS)).map((row) => row[0]);
    assert.deepEqual(await firsts(hybridModel), await firsts(otherModel));
    assert.notDeepEqual(await firsts(models.get('split')!), await firsts(otherModel));
  } finally {
    await otherModel.dispose();
    await hybridModel.dispose();
  }
});

test('a left-padded batch on the no-past model equals each prompt alone', async () => {
  // GPT-2 too: its absolute positions expose a wrong recomputed position, which RoPE's relative angles hide.
  const gpt2 = join(root, 'gpt2-no-past');
  writeRandomModel(gpt2, PRESETS['gpt2-tiny'], 11, 'no-past');
  const gpt2Model = await loadModel(gpt2, { inProcess: true, threads: 1 });
  try {
    assert.equal(gpt2Model.info.cached, false);
    for (const [name, model] of [
      ['llama no-past', models.get('no-past')!],
      ['llama split', models.get('split')!],
      ['gpt2 no-past', gpt2Model],
    ] as const) {
      const batch = await greedyIds(model, PROMPTS);
      for (let i = 0; i < PROMPTS.length; i++)
        assert.deepEqual(batch[i], (await greedyIds(model, [PROMPTS[i]]))[0], `${name}, row ${i}`);
    }
  } finally {
    await gpt2Model.dispose();
  }
});
