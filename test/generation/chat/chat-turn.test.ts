// prepareTurn with the real stories260K tokenizer counting the real Llama-2 template's prompt.
import assert from 'node:assert/strict';
import { TextTokenizer } from '../../../generation/tokenizer/tokenizer.js';
import { prepareTurn } from '../../../generation/chat/chat-turn.js';
import { resolveSettings } from '../../../generation/settings.js';
import type { ChatMessage } from '../../../generation/chat/chat-template.js';
// Every test here counts with the fixture tokenizer: skipped, with the reason, when it is missing.
import {
  readSharedJson,
  sharedBefore as before,
  sharedModel,
  sharedTest as test,
} from '../../shared-fixtures.js';

let tokenizer: TextTokenizer;
let template: string;

before(() => {
  tokenizer = TextTokenizer.load(
    sharedModel('stories260K-onnx'),
    readSharedJson('stories260K-onnx', 'tokenizer_config.json'),
  );
  template = readSharedJson<{ chat_template: string }>(
    'ort-genai-tiny-random-llama-fp16',
    'tokenizer_config.json',
  ).chat_template;
});

function engine(
  contextLength: number,
  chatTemplate?: string,
  task: 'text-generation' | 'text2text-generation' = 'text-generation',
) {
  return {
    info: { task, chatTemplate, specialTokens: { bos: '<s>', eos: '</s>' }, contextLength },
    tokenize: async (text: string, options?: { addSpecialTokens?: boolean }) =>
      tokenizer.encode(text, options?.addSpecialTokens ?? true),
  };
}

const messages: ChatMessage[] = [
  { role: 'user', content: 'Tell me about the cat.' },
  { role: 'assistant', content: 'The cat was happy and played in the park all day.' },
  { role: 'user', content: 'And the dog?' },
];

test('chat mode: templated prompt, no added special tokens, cache kept, count from the real tokenizer', async () => {
  const turn = await prepareTurn(
    engine(512, template),
    { messages },
    0,
    resolveSettings({ max_new_tokens: 32 }),
  );
  assert.equal(
    turn.request.prompt,
    '<s>[INST] Tell me about the cat. [/INST] The cat was happy and played in the park all day. </s><s>[INST] And the dog? [/INST]',
  );
  assert.equal(turn.request.addSpecialTokens, false);
  assert.equal(turn.request.keepCache, true);
  assert.equal(turn.droppedTurns, 0);
  assert.equal(turn.promptTokens, tokenizer.encode(turn.request.prompt, false).length);
});

test('chat mode: a small context drops the first turn and the prompt then fits', async () => {
  const full = tokenizer.encode(
    (
      await prepareTurn(
        engine(512, template),
        { messages },
        0,
        resolveSettings({ max_new_tokens: 8 }),
      )
    ).request.prompt,
    false,
  ).length;
  const turn = await prepareTurn(
    engine(full + 7, template),
    { messages },
    0,
    resolveSettings({ max_new_tokens: 8 }),
  );
  assert.equal(turn.droppedTurns, 1);
  assert.equal(turn.request.prompt, '<s>[INST] And the dog? [/INST]');
  assert.ok(turn.promptTokens + 8 <= full + 7, 'turn.promptTokens + 8 <= full + 7');
  assert.equal(turn.start, 2);
});

test('completion mode adds BOS via the tokenizer and counts it', async () => {
  const turn = await prepareTurn(
    engine(512),
    { messages: [{ role: 'user', content: 'Once upon a time' }] },
    0,
    resolveSettings({}),
  );
  assert.deepEqual(
    [turn.request.prompt, turn.request.addSpecialTokens, turn.promptTokens],
    ['Once upon a time', true, tokenizer.encode('Once upon a time', true).length],
  );
});

test('single-turn mode keeps the whole history but sends and measures only the last message', async () => {
  const turn = await prepareTurn(
    engine(20, undefined, 'text2text-generation'),
    { messages },
    0,
    resolveSettings({ max_new_tokens: 8 }),
  );
  assert.equal(turn.request.prompt, 'And the dog?');
  assert.equal(turn.request.keepCache, false);
  assert.equal(turn.droppedTurns, 0);
  assert.equal(turn.start, 0);
});

test('a small context keeps a quarter of the window for the reply instead of refusing max_new_tokens 256', async () => {
  // The default model's context is 256, equal to the default max_new_tokens: the turn must still fit.
  const turn = await prepareTurn(
    engine(256),
    { messages: [{ role: 'user', content: 'Call me Ishmael.' }] },
    0,
    resolveSettings({}),
  );
  assert.equal(turn.droppedTurns, 0);
  assert.ok(turn.promptTokens <= 256 - 64, 'turn.promptTokens <= 256 - 64');
  // Still never truncated: a window the prompt nearly fills leaves no room for the reply, so it is refused.
  await assert.rejects(
    prepareTurn(
      engine(turn.promptTokens + 1),
      { messages: [{ role: 'user', content: 'Call me Ishmael.' }] },
      0,
      resolveSettings({}),
    ),
  );
});
