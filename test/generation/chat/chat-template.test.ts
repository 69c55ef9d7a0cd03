// Golden strings for the well-known chat-template families. Each expected string was written by hand
// from the template text (HF renders with trim_blocks and lstrip_blocks), not produced by the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderChatTemplate, type ChatMessage } from '../../../generation/chat/chat-template.js';
import { InputError, ModelError } from '../../../generation/errors.js';
import { readSharedJson, sharedTest } from '../../shared-fixtures.js';

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const LLAMA2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

const ZEPHYR =
  "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

const conversation: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Tell a story.' },
];
const llamaTokens = { bos: '<s>', eos: '</s>' };

const cases: Array<{
  name: string;
  template: string;
  tokens: Record<string, string>;
  messages: ChatMessage[];
  gen: boolean;
  expected: string;
}> = [
  {
    name: 'ChatML with generation prompt',
    template: CHATML,
    tokens: {},
    messages: conversation,
    gen: true,
    expected:
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nTell a story.<|im_end|>\n<|im_start|>assistant\n',
  },
  {
    name: 'ChatML without generation prompt',
    template: CHATML,
    tokens: {},
    messages: conversation.slice(0, 2),
    gen: false,
    expected: '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n',
  },
  {
    name: 'Llama-2 folds the system prompt into the first [INST]',
    template: LLAMA2,
    tokens: llamaTokens,
    messages: conversation,
    gen: true,
    expected:
      '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there [/INST] Hello! </s><s>[INST] Tell a story. [/INST]',
  },
  {
    name: 'Llama-2 without a system prompt strips content',
    template: LLAMA2,
    tokens: llamaTokens,
    messages: [{ role: 'user', content: '  spaced  ' }],
    gen: true,
    expected: '<s>[INST] spaced [/INST]',
  },
  {
    name: 'Llama-3 headers, trim and bos on the first message only',
    template: LLAMA3,
    tokens: { bos: '<|begin_of_text|>', eos: '<|eot_id|>' },
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: ' Hi \n' },
    ],
    gen: true,
    expected:
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  },
  {
    name: 'Zephyr keeps the newline after each expression (trim_blocks drops those after tags)',
    template: ZEPHYR,
    tokens: llamaTokens,
    messages: conversation.slice(0, 3),
    gen: true,
    expected:
      '<|system|>\nBe brief.</s>\n<|user|>\nHi there</s>\n<|assistant|>\nHello!</s>\n<|assistant|>\n',
  },
  {
    name: 'Zephyr without generation prompt',
    template: ZEPHYR,
    tokens: llamaTokens,
    messages: conversation.slice(1, 2),
    gen: false,
    expected: '<|user|>\nHi there</s>\n',
  },
];

for (const c of cases) {
  test(`renderChatTemplate: ${c.name}`, () => {
    assert.equal(
      renderChatTemplate(c.template, {
        messages: c.messages,
        addGenerationPrompt: c.gen,
        specialTokens: c.tokens,
      }),
      c.expected,
    );
  });
}

sharedTest(
  'the real Llama-2 template of ort-genai-tiny-random-llama-fp16 renders like the well-known one',
  () => {
    const config = readSharedJson<{ chat_template: string; bos_token: string; eos_token: string }>(
      'ort-genai-tiny-random-llama-fp16',
      'tokenizer_config.json',
    );
    const rendered = renderChatTemplate(config.chat_template, {
      messages: conversation,
      addGenerationPrompt: true,
      specialTokens: { bos: config.bos_token, eos: config.eos_token },
    });
    assert.equal(
      rendered,
      '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there [/INST] Hello! </s><s>[INST] Tell a story. [/INST]',
    );
  },
);

test("raise_exception becomes an InputError with the template's message", () => {
  const bad: ChatMessage[] = [
    { role: 'user', content: 'a' },
    { role: 'user', content: 'b' },
  ];
  assert.throws(
    () =>
      renderChatTemplate(LLAMA2, {
        messages: bad,
        addGenerationPrompt: true,
        specialTokens: llamaTokens,
      }),
    (error: unknown) => {
      assert.ok(error instanceof InputError, 'error instanceof InputError');
      assert.match(error.message, /roles must alternate/);
      return true;
    },
  );
});

test('a template that does not parse is a ModelError', () => {
  assert.throws(
    () =>
      renderChatTemplate('{% for m in messages %}', { messages: [], addGenerationPrompt: false }),
    ModelError,
  );
});

test('strftime_now uses the given clock', () => {
  const out = renderChatTemplate('Today Date: {{ strftime_now("%d %b %Y") }}', {
    messages: [],
    addGenerationPrompt: false,
    now: new Date(2024, 6, 26),
  });
  assert.equal(out, 'Today Date: 26 Jul 2024');
});
