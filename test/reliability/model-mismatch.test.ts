// Issues 16.7 and 16.8: model folders whose parts do not belong together, or that are the wrong kind
// of model, are model errors (exit 3) found at load — never "internal error ... this is a bug" from
// onnxruntime in the middle of generation — and link loops in a folder never crash a command.
import { after, before } from 'node:test';
import { sharedTest } from '../shared-fixtures.js';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  assertNoStack,
  assertNothingLost,
  assertOneLineError,
  fixture,
  sandbox,
  snapshotTree,
  textgen,
  type Sandbox,
} from './harness.js';

const GPT2 = fixture('tiny-random-gpt2');
const STORIES = fixture('stories260K-onnx');
const T5 = fixture('tiny-random-t5');
const LLAMA_TOKENIZER = fixture('ort-genai-tiny-random-llama-fp16');
let box: Sandbox;
let corpus: string;

before(() => {
  assertBuilt();
  box = sandbox();
  corpus = join(box.root, 'corpus.txt');
  writeFileSync(corpus, 'Hello world. The quick brown fox jumps over the lazy dog.\n'.repeat(3));
});
after(() => box.cleanup());

/** A folder of links to fixture files, plus files written from JSON/text. */
function folder(
  name: string,
  entries: Record<string, string | { json: object } | { text: string }>,
): string {
  const dir = join(box.root, name);
  for (const [path, source] of Object.entries(entries)) {
    const target = join(dir, path);
    mkdirSync(join(target, '..'), { recursive: true });
    if (typeof source === 'string') symlinkSync(source, target);
    else if ('json' in source) writeFileSync(target, JSON.stringify(source.json));
    else writeFileSync(target, source.text);
  }
  return dir;
}

const json = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));

function gpt2With(name: string, overrides: Record<string, string | { json: object }>): string {
  return folder(name, {
    'config.json': join(GPT2, 'config.json'),
    'generation_config.json': join(GPT2, 'generation_config.json'),
    'tokenizer.json': join(GPT2, 'tokenizer.json'),
    'tokenizer_config.json': join(GPT2, 'tokenizer_config.json'),
    'onnx/model.onnx': join(GPT2, 'onnx', 'model.onnx'),
    ...overrides,
  });
}

/** A T5 file as a causal LM's onnx/model.onnx (config says decoder-only). */
function t5As(name: string, file: string): string {
  return folder(name, {
    'config.json': { json: { ...json(T5, 'config.json'), is_encoder_decoder: false } },
    'tokenizer.json': join(T5, 'tokenizer.json'),
    'tokenizer_config.json': join(T5, 'tokenizer_config.json'),
    'onnx/model.onnx': join(T5, 'onnx', file),
  });
}

const COMMANDS: Array<[string, (dir: string) => string[], string?]> = [
  ['generate', (dir) => ['generate', '-m', dir, '-n', '4', 'Hello world']],
  ['chat', (dir) => ['chat', '-m', dir, '-n', '4'], 'Hello\n'],
  ['perplexity', (dir) => ['perplexity', '-m', dir, corpus]],
];

const CASES: Array<[string, () => string, RegExp]> = [
  [
    'a T5 decoder as onnx/model.onnx',
    () => t5As('t5-decoder', 'decoder_model.onnx'),
    /onnx\/model\.onnx is the decoder of an encoder-decoder model.*encoder_attention_mask/,
  ],
  [
    'a merged T5 decoder as onnx/model.onnx',
    () => t5As('t5-merged', 'decoder_model_merged.onnx'),
    /is the decoder of an encoder-decoder model/,
  ],
  [
    'a T5 encoder as onnx/model.onnx',
    () => t5As('t5-encoder', 'encoder_model.onnx'),
    /has no logits output .*encoder or a base model without a language-model head/,
  ],
  [
    'gpt2 with a 32,000-token Llama tokenizer',
    () =>
      gpt2With('gpt2-llama-tok', {
        'tokenizer.json': join(LLAMA_TOKENIZER, 'tokenizer.json'),
        'tokenizer_config.json': join(LLAMA_TOKENIZER, 'tokenizer_config.json'),
      }),
    /tokenizer\.json has ids up to 31999, but onnx\/model\.onnx embeds only 1000 tokens/,
  ],
  [
    'stories260K (512 ids) with the gpt2 tokenizer (1000 ids)',
    () =>
      folder('stories-gpt2-tok', {
        'config.json': join(STORIES, 'config.json'),
        'tokenizer.json': join(GPT2, 'tokenizer.json'),
        'tokenizer_config.json': join(GPT2, 'tokenizer_config.json'),
        'onnx/model.onnx': join(STORIES, 'onnx', 'model.onnx'),
      }),
    /ids up to 999, but onnx\/model\.onnx embeds only 512 tokens/,
  ],
  [
    'gpt2 whose config claims 1024 positions (the table has 128)',
    () =>
      gpt2With('gpt2-long-ctx', {
        'config.json': { json: { ...json(GPT2, 'config.json'), n_positions: 1024, n_ctx: 1024 } },
      }),
    /n_positions is 1024, but onnx\/model\.onnx has positions for 128 tokens only/,
  ],
  [
    'stories260K whose config claims 4096 positions (the RoPE table has 512)',
    () =>
      folder('stories-long-ctx', {
        'config.json': {
          json: { ...json(STORIES, 'config.json'), max_position_embeddings: 4096 },
        },
        'tokenizer.json': join(STORIES, 'tokenizer.json'),
        'tokenizer_config.json': join(STORIES, 'tokenizer_config.json'),
        'onnx/model.onnx': join(STORIES, 'onnx', 'model.onnx'),
      }),
    /max_position_embeddings is 4096, but onnx\/model\.onnx has positions for 512 tokens only/,
  ],
];

const made = new Map<string, string>();
function memo(key: string, make: () => string): string {
  if (!made.has(key)) made.set(key, make());
  return made.get(key)!;
}

// Every case through generate; chat and perplexity (the same load path) for one case of each class.
const EVERY_COMMAND = new Set([0, 3, 5]);

for (const [index, [label, make, message]] of CASES.entries()) {
  for (const [command, args, input] of EVERY_COMMAND.has(index) ? COMMANDS : COMMANDS.slice(0, 1)) {
    sharedTest(`${command}: ${label} is a model error (exit 3) at load`, async () => {
      const dir = memo(label, make);
      const before = snapshotTree(dir);
      const result = await textgen(args(dir), box.env, { input: input ?? '' });
      assertOneLineError(result, 3, message);
      assertNothingLost(before, dir);
    });
  }
}

sharedTest(
  'a config without a context length takes the position table (128), not 2048',
  async () => {
    const config = { ...json(GPT2, 'config.json') };
    delete config.n_positions;
    delete config.n_ctx;
    const dir = gpt2With('gpt2-no-ctx', {
      'config.json': { json: config },
      'generation_config.json': { json: { bos_token_id: 0, eos_token_id: 0 } },
    });
    const result = await textgen(
      [
        'generate',
        '-m',
        dir,
        '-n',
        '300',
        '--temperature',
        '0',
        '--suppress-tokens',
        '0',
        '--json',
        'Hi',
      ],
      box.env,
    );
    assert.equal(result.exitCode, 0, String(result.stderr));
    const out = JSON.parse(String(result.stdout));
    assert.ok(
      out.usage.prompt_tokens + out.usage.completion_tokens <= 128,
      `usage within the 128-token context: ${JSON.stringify(out.usage)}`,
    );
    assert.equal(out.sequences[0].finish_reason, 'length');
  },
);

sharedTest(
  'an added token beyond the embedding table in the prompt is an input error (exit 7)',
  async () => {
    const tokenizer = json(GPT2, 'tokenizer.json');
    tokenizer.added_tokens.push({
      id: 1000,
      content: '<|extra|>',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
    const dir = gpt2With('gpt2-added-token', { 'tokenizer.json': { json: tokenizer } });
    const fine = await textgen(['generate', '-m', dir, '-n', '2', 'Hello'], box.env);
    assert.equal(fine.exitCode, 0, String(fine.stderr));
    const result = await textgen(['generate', '-m', dir, '-n', '2', 'Hello <|extra|>'], box.env);
    assertOneLineError(
      result,
      7,
      /token "<\|extra\|>" \(id 1000\), which this model has no embedding for/,
    );
  },
);

sharedTest(
  'link loops and dangling links in a model folder: models show, chat and generate run',
  async () => {
    const dir = gpt2With('gpt2-loops', {});
    symlinkSync(dir, join(dir, 'onnx', 'back-to-top'));
    symlinkSync(join(dir, 'b'), join(dir, 'a'));
    symlinkSync(join(dir, 'a'), join(dir, 'b'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.json'));
    const show = await textgen(['models', 'show', dir], box.env);
    assert.equal(show.exitCode, 0, String(show.stderr));
    assert.match(String(show.stdout), /onnx\/model\.onnx/);
    assertNoStack(String(show.stderr));
    const showJson = await textgen(['models', 'show', dir, '--json'], box.env);
    assert.equal(showJson.exitCode, 0, String(showJson.stderr));
    JSON.parse(String(showJson.stdout));
    const chat = await textgen(['chat', '-m', dir, '-n', '2'], box.env, { input: 'Hi\n' });
    assert.equal(chat.exitCode, 0, String(chat.stderr));
    assertNoStack(String(chat.stderr));
    const generate = await textgen(['generate', '-m', dir, '-n', '2', 'Hi'], box.env);
    assert.equal(generate.exitCode, 0, String(generate.stderr));
  },
);

sharedTest(
  'a link loop in place of config.json or the ONNX file is a model error, not a crash',
  async () => {
    for (const [file, message] of [
      ['config.json', /config\.json is a symbolic link that leads to no file \(a link loop/],
      ['onnx/model.onnx', /./],
      ['tokenizer.json', /tokenizer\.json is a symbolic link that leads to no file \(a link loop/],
    ] as const) {
      const dir = gpt2With(`gpt2-loop-${file.replace(/\W/g, '-')}`, {});
      const target = join(dir, file);
      rmSync(target);
      symlinkSync(target, target);
      for (const args of [
        ['generate', '-m', dir, 'Hi'],
        ['models', 'show', dir],
      ]) {
        const result = await textgen(args, box.env);
        assertOneLineError(result, 3, message);
      }
    }
  },
);
