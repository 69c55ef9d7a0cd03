// The variants textgen quantize writes are transformers.js variants: @huggingface/transformers
// (devDependency, same onnxruntime-node) loads them under the matching dtype name — model_q4.onnx as
// 'q4', model_quantized.onnx as 'q8', model_int8.onnx as 'int8', the encoder-decoder set likewise —
// and its greedy ids equal textgen's on the same file.
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import {
  AutoModelForCausalLM,
  AutoModelForSeq2SeqLM,
  env,
  Tensor,
} from '@huggingface/transformers';
import { loadModel, quantizeModel } from '../../../generation/index.js';
import {
  fixture,
  generateAll,
  linkFolder,
  STORIES_ONNX_FILES,
  type TempFolder,
} from '../fixtures.js';
// Every test here quantizes the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../../shared-fixtures.js';

const MODELS = {
  'stories260K-onnx': {
    files: STORIES_ONNX_FILES,
    prompt: 'Once upon a time',
    seq2seq: false,
  },
  'tiny-random-t5': {
    files: [
      'onnx/encoder_model.onnx',
      'onnx/decoder_model_merged.onnx',
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
    ],
    prompt: 'question: what is 42 ? context: 42 is the answer',
    seq2seq: true,
  },
} as const;

const folders = new Map<string, TempFolder>();

before(async () => {
  env.allowRemoteModels = false;
  for (const [name, m] of Object.entries(MODELS)) {
    const folder = linkFolder(Object.fromEntries(m.files.map((f) => [f, fixture(name, f)])));
    folders.set(name, folder);
    for (const dtype of ['q4', 'q8', 'int8'] as const)
      for await (const _ of quantizeModel({ dir: folder.dir, dtype, check: false }));
  }
});

after(() => {
  for (const f of folders.values()) f.cleanup();
});

for (const [name, m] of Object.entries(MODELS))
  for (const dtype of ['q4', 'q8', 'int8'] as const)
    test(`${name} ${dtype}: transformers.js loads the variant and matches textgen's greedy ids`, async () => {
      const dir = folders.get(name)!.dir;
      env.localModelPath = dirname(dir);
      const ours = await loadModel(dir, { dtype, inProcess: true });
      assert.equal(ours.info.dtype, dtype);
      const prompt = await ours.tokenize(m.prompt);
      const mine = (await generateAll(ours, m.prompt, { max_new_tokens: 16 })).ids[0];
      await ours.dispose();
      const Auto = m.seq2seq ? AutoModelForSeq2SeqLM : AutoModelForCausalLM;
      const peer = await Auto.from_pretrained(basename(dir), { dtype, device: 'cpu' });
      const ids = new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
      const mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [
        1,
        prompt.length,
      ]);
      const out = (await peer.generate({
        input_ids: ids,
        attention_mask: mask,
        max_new_tokens: 16,
        do_sample: false,
      })) as { tolist(): bigint[][] };
      // Causal output repeats the prompt; seq2seq output starts with the decoder start token.
      const theirs = out
        .tolist()[0]
        .slice(m.seq2seq ? 1 : prompt.length)
        .map(Number);
      await (peer as { dispose(): Promise<unknown> }).dispose();
      assert.deepEqual(mine, theirs);
    });
