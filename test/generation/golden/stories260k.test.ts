// stories260K (real trained Llama weights) through the public core API, against the llama2.c
// reference outputs in ../shared/models/stories260K/golden.json: exact ids and exact text.
import assert from 'node:assert/strict';
import { loadModel, type TextGenerator } from '../../../generation/index.js';
import { fixture, generateAll } from '../fixtures.js';
import { storiesGolden, type StoriesGolden } from '../goldens.js';
// Every test here needs the golden fixtures: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../../shared-fixtures.js';

let golden: StoriesGolden;
let generator: TextGenerator;

before(async () => {
  golden = storiesGolden();
  generator = await loadModel(fixture('stories260K-onnx'), { inProcess: true });
});

after(async () => {
  await generator.dispose();
});

test('model facts: llama, context 512, EOS ids [1, 2] from generation_config.json, BOS 1', () => {
  const { info } = generator;
  assert.equal(info.modelType, 'llama');
  assert.equal(info.task, 'text-generation');
  assert.equal(info.contextLength, 512);
  assert.equal(info.vocabSize, 512);
  assert.equal(info.dtype, 'fp32');
  assert.equal(info.cached, true);
  assert.deepEqual(info.eosTokenIds, [1, 2]);
  assert.equal(info.bosTokenId, 1);
});

test('tokenizer: the golden llama2.c encodings (with BOS) and their decodes', async () => {
  for (const [text, ids] of Object.entries(golden.tokenizer_examples_llama2c_encode_with_bos)) {
    assert.deepEqual(await generator.tokenize(text), ids, text);
    assert.deepEqual(
      await generator.tokenize(text, { addSpecialTokens: false }),
      ids.slice(1),
      text,
    );
    assert.equal(await generator.detokenize(ids), text);
  }
});

test('greedy "Once upon a time": 60 golden ids, continuation text, streamed deltas and stats', async () => {
  const g = golden.prompt_once_upon_a_time_greedy_60;
  assert.deepEqual(await generator.tokenize(g.prompt), g.prompt_ids);
  const { done, deltas, ids } = await generateAll(generator, g.prompt, { max_new_tokens: 60 });
  const [sequence] = done.sequences;
  assert.deepEqual(sequence.token_ids, g.generated_ids);
  assert.deepEqual(ids[0], g.generated_ids);
  assert.equal(sequence.text, g.continuation_text);
  assert.equal(deltas[0].join(''), g.continuation_text);
  assert.equal(sequence.finish_reason, 'length');
  assert.equal(done.reason, 'length');
  assert.equal(done.stats.promptTokens, g.prompt_ids.length);
  assert.equal(done.stats.completionTokens, 60);
  assert.equal(done.stats.contextUsed, g.prompt_ids.length + 60);
  assert.equal(done.stats.contextLength, 512);
});

test('BOS-only greedy 200: an empty prompt starts from BOS and gives the llama2.c run.c text', async () => {
  const g = golden.bos_only_greedy_200;
  assert.deepEqual(await generator.tokenize(''), g.prompt_ids);
  const { done, deltas } = await generateAll(generator, '', { max_new_tokens: 200 });
  assert.deepEqual(done.sequences[0].token_ids, g.generated_ids);
  assert.equal(done.sequences[0].text, g.text);
  assert.equal(deltas[0].join(''), g.text);
  assert.equal(done.stats.promptTokens, g.prompt_ids.length);
});

test('stopping: BOS (id 1) ends a story; the EOS id is kept in token_ids but not in the text', async () => {
  const g = golden.prompt_once_upon_a_time_greedy_60;
  const { done } = await generateAll(generator, g.prompt, { max_new_tokens: 400 });
  const [sequence] = done.sequences;
  assert.equal(sequence.finish_reason, 'eos');
  assert.ok(
    [1, 2].includes(sequence.token_ids.at(-1)!),
    '[1, 2].includes(sequence.token_ids.at(-1)!)',
  );
  assert.ok(sequence.token_ids.length < 400, 'sequence.token_ids.length < 400');
  assert.deepEqual(sequence.token_ids.slice(0, 60), g.generated_ids);
  assert.equal(sequence.text, await generator.detokenize(sequence.token_ids));
  assert.ok(
    sequence.text.startsWith(g.continuation_text),
    'sequence.text.startsWith(g.continuation_text)',
  );
});
