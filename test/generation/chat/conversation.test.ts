import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildPrompt,
  chatModeOf,
  completionTranscript,
} from '../../../generation/chat/conversation.js';

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

test('chatModeOf picks single-turn for text-to-text, chat with a template, completion without', () => {
  assert.equal(chatModeOf({ task: 'text2text-generation', chatTemplate: CHATML }), 'single-turn');
  assert.equal(chatModeOf({ task: 'text-generation', chatTemplate: CHATML }), 'chat');
  assert.equal(chatModeOf({ task: 'text-generation' }), 'completion');
  assert.equal(chatModeOf({ task: 'text-generation', chatTemplate: '' }), 'completion');
});

const transcriptCases = [
  {
    name: 'reply continues the user text verbatim',
    system: undefined,
    contents: ['Once upon a time', ' there was a cat.'],
    expected: 'Once upon a time there was a cat.',
  },
  {
    name: 'next user text gets one space after non-space',
    system: undefined,
    contents: ['Hi', ' there.', 'Then'],
    expected: 'Hi there. Then',
  },
  {
    name: 'no extra space after a newline',
    system: undefined,
    contents: ['Hi', ' there.\n', 'Then'],
    expected: 'Hi there.\nThen',
  },
  {
    name: 'system text on its own line',
    system: 'A story:',
    contents: ['Tim'],
    expected: 'A story:\nTim',
  },
];
for (const c of transcriptCases) {
  test(`completionTranscript: ${c.name}`, () => {
    const messages = c.contents.map((content, i) => ({
      role: (i % 2 === 0 ? 'user' : 'assistant') as 'user' | 'assistant',
      content,
    }));
    assert.equal(completionTranscript({ system: c.system, messages }), c.expected);
  });
}

test('buildPrompt in chat mode renders the template with the system prompt and no extra special tokens', async () => {
  const plan = await buildPrompt(
    { task: 'text-generation', chatTemplate: CHATML, specialTokens: {} },
    { system: 'S', messages: [{ role: 'user', content: 'U' }] },
  );
  assert.deepEqual(plan, {
    prompt:
      '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n',
    addSpecialTokens: false,
    keepCache: true,
  });
});

test('buildPrompt in completion mode keeps the cache and adds BOS through the tokenizer', async () => {
  const plan = await buildPrompt(
    { task: 'text-generation', specialTokens: {} },
    { messages: [{ role: 'user', content: 'Once' }] },
  );
  assert.deepEqual(plan, { prompt: 'Once', addSpecialTokens: true, keepCache: true });
});

test('buildPrompt in single-turn mode sends only the last user message and no cache', async () => {
  const plan = await buildPrompt(
    { task: 'text2text-generation', specialTokens: {} },
    {
      system: 'ignored',
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'x' },
        { role: 'user', content: 'second' },
      ],
    },
  );
  assert.deepEqual(plan, { prompt: 'second', addSpecialTokens: true, keepCache: false });
});
