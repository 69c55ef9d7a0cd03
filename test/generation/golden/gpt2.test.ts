// tiny-random-gpt2 (seeded random GPT-2, optimum layout) against its PyTorch golden.json: greedy ids
// and continuation text for four prompts, the first-step logits, the left-padded batch, and the
// 128-position context limit.
import assert from 'node:assert/strict';
import { InputError } from '../../../generation/errors.js';
import { loadModel, type TextGenerator } from '../../../generation/index.js';
import { inspectModelFolder } from '../../../generation/model/model-folder.js';
import { openModel } from '../../../generation/runtime/open-model.js';
import { DecoderRunner } from '../../../generation/runtime/decoder-runner.js';
import { fixture, generateAll } from '../fixtures.js';
import { gpt2Golden, type Gpt2Golden } from '../goldens.js';
// Every test here needs the golden fixtures: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedDescribe,
  sharedTest as test,
} from '../../shared-fixtures.js';

const DIR = fixture('tiny-random-gpt2');
let golden: Gpt2Golden;
let generator: TextGenerator;

before(async () => {
  golden = gpt2Golden();
  generator = await loadModel(DIR, { inProcess: true });
});

after(async () => {
  await generator.dispose();
});

test('model facts: gpt2, context 128 (n_positions), EOS = BOS = 0, no BOS added to prompts', async () => {
  assert.equal(generator.info.modelType, 'gpt2');
  assert.equal(generator.info.contextLength, 128);
  assert.deepEqual(generator.info.eosTokenIds, [0]);
  assert.equal(generator.info.bosTokenId, 0);
  assert.deepEqual(await generator.tokenize('Once upon a time'), golden.tokenizer_once_upon_a_time);
});

// The cases come from the golden file, so they are registered only when it is there.
sharedDescribe('greedy golden cases', () => {
  for (const g of gpt2Golden().greedy) {
    test(`greedy "${g.prompt}": golden ids (EOS included when produced) and continuation text`, async () => {
      assert.deepEqual(await generator.tokenize(g.prompt), g.prompt_ids);
      const { done, deltas } = await generateAll(generator, g.prompt, { max_new_tokens: 30 });
      const [sequence] = done.sequences;
      assert.deepEqual(sequence.token_ids, g.generated_ids);
      assert.equal(sequence.text, g.continuation_text);
      assert.equal(deltas[0].join(''), g.continuation_text);
      assert.equal(sequence.finish_reason, g.stopped_by_eos ? 'eos' : 'length');
    });
  }
});

test('first-step logits of "Hello world" match PyTorch (first 10 values, max, argmax)', async () => {
  const ref = golden.first_step_logits;
  const folder = inspectModelFolder(DIR);
  const { runner } = await openModel(folder, folder.layouts.fp32!, { device: 'cpu' });
  assert.ok(runner instanceof DecoderRunner, 'runner instanceof DecoderRunner');
  const state = runner.newState(1, folder.contextLength);
  const logits = await runner.forward(state, [ref.prompt_ids]);
  assert.equal(logits.length, 1000);
  ref.first_10.forEach((v, i) =>
    assert.ok(Math.abs(logits[i] - v) < 1e-4, `logit ${i}: ${logits[i]} vs ${v}`),
  );
  let best = 0;
  for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
  assert.equal(best, ref.argmax);
  assert.ok(Math.abs(logits[best] - ref.max) < 1e-4, 'Math.abs(logits[best] - ref.max) < 1e-4');
  state.dispose();
});

test('left-padded batch of the 4 prompts: every row equals its unbatched golden result', async () => {
  const { done, deltas } = await generateAll(
    generator,
    golden.greedy.map((g) => g.prompt),
    { max_new_tokens: 30 },
  );
  assert.equal(done.sequences.length, 4);
  golden.greedy.forEach((g, i) => {
    assert.deepEqual(done.sequences[i].token_ids, g.generated_ids, g.prompt);
    assert.equal(done.sequences[i].text, g.continuation_text, g.prompt);
    assert.equal(deltas[i].join(''), g.continuation_text, g.prompt);
    assert.equal(done.sequences[i].finish_reason, g.stopped_by_eos ? 'eos' : 'length');
  });
});

test('an empty prompt starts from BOS (<|endoftext|>, id 0)', async () => {
  assert.deepEqual(await generator.tokenize(''), []);
  const { done } = await generateAll(generator, '', { max_new_tokens: 5 });
  assert.equal(done.stats.promptTokens, 1);
  assert.ok(done.sequences[0].token_ids.length >= 1, 'done.sequences[0].token_ids.length >= 1');
});

test('context limit: max_new_tokens is cut so prompt + generation stays within 128 positions', async () => {
  const prompt = Array.from({ length: 60 }, (_, i) => `w${i % 10}`).join(' ');
  const ids = await generator.tokenize(prompt);
  assert.ok(ids.length > 100 && ids.length < 128, `prompt is ${ids.length} tokens`);
  const { done } = await generateAll(generator, prompt, {
    max_new_tokens: 100,
    suppress_tokens: [0],
  });
  assert.equal(done.sequences[0].token_ids.length, 128 - ids.length);
  assert.equal(done.sequences[0].finish_reason, 'length');
  assert.equal(done.stats.contextUsed, 128);
});

test('a prompt as long as the context is an InputError naming both numbers', async () => {
  const prompt = 'hello world '.repeat(80);
  const n = (await generator.tokenize(prompt)).length;
  assert.ok(n >= 128, 'n >= 128');
  await assert.rejects(generateAll(generator, prompt, { max_new_tokens: 5 }), (error: unknown) => {
    assert.ok(error instanceof InputError, String(error));
    assert.match(error.message, new RegExp(`${n} tokens.*context is 128 tokens`));
    return true;
  });
});
