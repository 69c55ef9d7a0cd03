// Issue 18 item 1: instruct models one-shot. `generate` applies the model's chat template when it has
// one (as `ollama run` does) — checked on ort-genai-tiny-random-llama-fp16, whose tokenizer_config has
// the Llama-2 template — and `--raw` reproduces the pre-template output token for token. Also
// -s/--system, --system-file, -f FILE, --chat/--no-chat, and --jsonl lines.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, storiesDir, textgen } from '../commands/chat-fixtures.js';
import { fixture, generateAll } from '../generation/fixtures.js';
import { loadModel, type TextGenerator } from '../../generation/index.js';
import { renderChatTemplate } from '../../generation/chat/chat-template.js';

const llama = fixture('ort-genai-tiny-random-llama-fp16');
// Read lazily: without the fixtures the file is skipped, and nothing may be read at import.
let template = '';
const tokens = { bos: '<s>', eos: '</s>' };

// `textgen generate -m <llama> --temperature 0 -n 20 --json PROMPT` (and --seed 7 -n 20 for the
// sampled one) at commit f8e31d1, before chat templates were applied: the golden for --raw.
const BEFORE: Array<[string[], string, number[]]> = [
  [
    ['--temperature', '0'],
    'Hello',
    [
      1789, 19053, 25470, 2323, 21742, 13486, 13934, 26715, 23287, 16710, 27488, 10962, 21315,
      22401, 31302, 799, 127, 22164, 22410, 4839,
    ],
  ],
  [
    ['--temperature', '0'],
    'What is the capital of France?',
    [
      11240, 5919, 22439, 30679, 213, 23512, 5236, 20031, 8061, 5448, 7811, 21645, 17518, 23890,
      28733, 8019, 8645, 14668, 29718, 13683,
    ],
  ],
  [
    ['--seed', '7'],
    'Once upon a time',
    [
      13428, 22300, 15483, 24790, 3460, 24508, 4225, 16844, 15543, 26256, 8313, 21500, 7500, 6079,
      21249, 20495, 4272, 11800, 9471, 22783,
    ],
  ],
];

const env: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: '/nonexistent',
  TEXTGEN_CONFIG_DIR: '/nonexistent/config',
  TEXTGEN_DATA_DIR: '/nonexistent/data',
  HF_HUB_CACHE: '/nonexistent/hub',
};

let generator: TextGenerator;
let tmp: string;
before(async () => {
  assertBuilt();
  template = JSON.parse(readFileSync(join(llama, 'tokenizer_config.json'), 'utf8'))
    .chat_template as string;
  generator = await loadModel(llama, { inProcess: true });
  tmp = mkdtempSync(join(tmpdir(), 'textgen-template-'));
});
after(async () => {
  await generator.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function json(args: string[], input?: string) {
  const run = await textgen(['generate', '-m', llama, '--json', '-n', '20', ...args], env, input);
  assert.equal(run.exitCode, 0, run.stderr);
  return JSON.parse(run.stdout);
}

/** The ids the core generates greedily for the Llama-2 rendering of (system, user). */
async function templated(user: string, system?: string): Promise<number[]> {
  const messages = [
    ...(system ? [{ role: 'system' as const, content: system }] : []),
    { role: 'user' as const, content: user },
  ];
  const prompt = renderChatTemplate(template, {
    messages,
    addGenerationPrompt: true,
    specialTokens: tokens,
  });
  const { ids } = await generateAll(
    generator,
    prompt,
    { max_new_tokens: 20 },
    { addSpecialTokens: false },
  );
  return ids[0];
}

test('--raw (and --no-chat) reproduce the output from before templates, token for token', async () => {
  for (const [flags, prompt, ids] of BEFORE) {
    for (const off of ['--raw', '--no-chat']) {
      const out = await json([off, ...flags, prompt]);
      assert.equal(out.chat_template, false);
      assert.deepEqual(out.sequences[0].token_ids, ids, `${off} ${flags.join(' ')} ${prompt}`);
    }
  }
});

test('by default the Llama-2 chat template is applied: [INST] ... [/INST] with BOS from the template', async () => {
  const out = await json(['--temperature', '0', 'Hello']);
  assert.equal(out.chat_template, true);
  assert.equal(out.prompt, 'Hello');
  assert.deepEqual(out.sequences[0].token_ids, await templated('Hello'));
  assert.notDeepEqual(out.sequences[0].token_ids, BEFORE[0][2]);
  // "<s>[INST] Hello [/INST]": the template's own BOS, none added by the tokenizer.
  const expected = await generator.tokenize('<s>[INST] Hello [/INST]', { addSpecialTokens: false });
  assert.equal(out.usage.prompt_tokens, expected.length);
  const chat = await json(['--chat', '--temperature', '0', 'Hello']);
  assert.deepEqual(chat.sequences[0].token_ids, out.sequences[0].token_ids);
});

test('-s/--system and --system-file put the system prompt into the template', async () => {
  const expected = await templated('Hello', 'Answer in French.');
  for (const flags of [
    ['-s', 'Answer in French.'],
    ['--system', 'Answer in French.'],
  ]) {
    const out = await json(['--temperature', '0', ...flags, 'Hello']);
    assert.deepEqual(out.sequences[0].token_ids, expected, flags[0]);
  }
  const file = join(tmp, 'system.txt');
  writeFileSync(file, 'Answer in French.\n');
  const fromFile = await json(['--temperature', '0', '--system-file', file, 'Hello']);
  assert.deepEqual(fromFile.sequences[0].token_ids, expected);
});

test('-f FILE is the prompt (then the arguments); -f - reads stdin', async () => {
  const file = join(tmp, 'prompt.txt');
  writeFileSync(file, 'What is the capital\n');
  const expected = await templated('What is the capital\nof France?');
  const out = await json(['--temperature', '0', '-f', file, 'of France?']);
  assert.equal(out.prompt, 'What is the capital\nof France?');
  assert.deepEqual(out.sequences[0].token_ids, expected);
  const stdin = await json(
    ['--temperature', '0', '-f', '-', 'of France?'],
    'What is the capital\n',
  );
  assert.deepEqual(stdin.sequences[0].token_ids, expected);
  const raw = await json(['--raw', '--temperature', '0', '--file', join(tmp, 'prompt.txt')]);
  assert.equal(raw.prompt, 'What is the capital');
});

test('--jsonl lines get the template too, with an optional "system" per line', async () => {
  const input = [
    '{"prompt":"Hello","max_new_tokens":20,"temperature":0}',
    '{"prompt":"Hello","system":"Answer in French.","max_new_tokens":20,"temperature":0}',
  ].join('\n');
  const run = await textgen(['generate', '-m', llama, '--jsonl'], env, input);
  assert.equal(run.exitCode, 0, run.stderr);
  const [plain, system] = run.stdout.split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(plain.sequences[0].token_ids, await templated('Hello'));
  assert.deepEqual(system.sequences[0].token_ids, await templated('Hello', 'Answer in French.'));
  const raw = await textgen(
    ['generate', '-m', llama, '--jsonl', '--raw'],
    env,
    input.split('\n')[0],
  );
  assert.deepEqual(JSON.parse(raw.stdout).sequences[0].token_ids, BEFORE[0][2]);
});

test('contradictions are usage errors; a model without a template is sent the text as it is', async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['--chat', '-m', storiesDir, 'x'],
      /This model has no chat template, so --chat cannot be applied\./,
    ],
    [['--raw', '--chat', '-m', llama, 'x'], /--chat cannot be combined with --raw or --no-chat\./],
    [['--raw', '-s', 'S', '-m', llama, 'x'], /--system cannot be combined with --raw/],
    [
      ['-s', 'a', '--system-file', 'b', '-m', llama, 'x'],
      /--system and --system-file cannot be combined\./,
    ],
  ];
  for (const [args, message] of cases) {
    const run = await textgen(['generate', ...args], env);
    assert.equal(run.exitCode, 2, args.join(' '));
    assert.match(run.stderr.split('\n')[0], message);
  }
  const missing = await textgen(['generate', '-m', llama, '-f', join(tmp, 'none.txt')], env);
  assert.equal(missing.exitCode, 7);
  assert.match(
    missing.stderr,
    /^textgen: error: Cannot read the prompt file .*none\.txt: ENOENT\./,
  );
  // stories260K has no template: the default sends the text as --raw does.
  const auto = await textgen(
    ['generate', '-m', storiesDir, '--temperature', '0', '-n', '8', 'Lily'],
    env,
  );
  const raw = await textgen(
    ['generate', '-m', storiesDir, '--raw', '--temperature', '0', '-n', '8', 'Lily'],
    env,
  );
  assert.equal(auto.stdout, raw.stdout);
});
