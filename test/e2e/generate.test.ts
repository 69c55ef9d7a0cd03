// End to end: spawns the built CLI (`node bin/textgen.js generate`) with a sandboxed HOME/config and
// checks the golden text via argument and pipe, the --json shape, one-line errors with exit codes,
// a reader that closes the pipe early, and Ctrl-C in the middle of generation.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result } from 'execa';
import { loadModel } from '../../generation/index.js';
import { fixture, generateAll, linkFolder, repoRoot } from '../generation/fixtures.js';
import { storiesGolden, type StoriesGolden } from '../generation/goldens.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';

const BIN = join(repoRoot, 'bin', 'textgen.js');
const STORIES = fixture('stories260K-onnx');
const GPT2 = fixture('tiny-random-gpt2');
let golden: StoriesGolden['prompt_once_upon_a_time_greedy_60'];
/** Greedy with the story-ending ids suppressed, so generation runs for all the requested tokens. */
const LONG = ['--temperature', '0', '--suppress-tokens', '1,2'];

let home: string;
let env: Record<string, string>;

before(() => {
  golden = storiesGolden().prompt_once_upon_a_time_greedy_60;
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'generate.js')))
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests');
  home = mkdtempSync(join(tmpdir(), 'textgen-e2e-'));
  env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    HF_HOME: join(home, 'hf'),
    HF_HUB_CACHE: join(home, 'hf', 'hub'),
  };
});

after(() => {
  rmSync(home, { recursive: true, force: true });
});

/** Runs `textgen generate ...args`; never rejects. */
function generate(args: string[], input: string | Uint8Array = ''): Promise<Result> {
  return execa('node', [BIN, 'generate', ...args], {
    cwd: repoRoot,
    env,
    extendEnv: false,
    reject: false,
    input,
    timeout: 60_000,
    stripFinalNewline: false,
  }) as Promise<Result>;
}

/** Asserts the CLI failed with `code` and exactly one error line (plus an optional hint line). */
function assertOneLineError(result: Result, code: number, message: RegExp): void {
  const stderr = String(result.stderr);
  assert.equal(result.exitCode, code, `exit code (stderr: ${stderr})`);
  assert.equal(String(result.stdout), '');
  const lines = stderr.replace(/\n$/, '').split('\n');
  assert.ok(
    lines.length === 1 || lines.length === 2,
    `one error line plus an optional hint, got:\n${stderr}`,
  );
  assert.match(lines[0], /^textgen: error: /);
  assert.match(lines[0], message);
  if (lines.length === 2) assert.match(lines[1], /^ {2}hint: /);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}

test('golden text via the argument: stdout is exactly the continuation, nothing on stderr', async () => {
  const result = await generate([
    '--model',
    STORIES,
    '--temperature',
    '0',
    '-n',
    '60',
    golden.prompt,
  ]);
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.equal(result.stdout, golden.continuation_text);
  assert.equal(result.stderr, '');
});

test('golden text via a pipe: stdin (trailing newline dropped) is the prompt', async () => {
  const result = await generate(
    ['--model', STORIES, '--temperature', '0', '-n', '60'],
    `${golden.prompt}\n`,
  );
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.equal(result.stdout, golden.continuation_text);
});

test('--json prints one object: model, prompt, sequences, usage and timings', async () => {
  const result = await generate([
    '--model',
    STORIES,
    '--temperature',
    '0',
    '-n',
    '60',
    '--json',
    golden.prompt,
  ]);
  assert.equal(result.exitCode, 0, String(result.stderr));
  const lines = String(result.stdout).trimEnd().split('\n');
  assert.equal(lines.length, 1);
  const out = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(out).sort(), [
    'chat_template',
    'model',
    'prompt',
    'seed',
    'sequences',
    'timings',
    'usage',
  ]);
  assert.equal(typeof out.model, 'string');
  assert.equal(out.prompt, golden.prompt);
  assert.deepEqual(out.sequences, [
    { text: golden.continuation_text, token_ids: golden.generated_ids, finish_reason: 'length' },
  ]);
  assert.deepEqual(out.usage, { prompt_tokens: golden.prompt_ids.length, completion_tokens: 60 });
  assert.equal(typeof out.timings, 'object');
  assert.ok(
    out.timings !== null && Object.keys(out.timings).length > 0,
    'out.timings !== null && Object.keys(out.timings).length > 0',
  );
});

test('errors: one line on stderr, a non-zero exit code, no stack trace', async (t) => {
  const corrupt = linkFolder({
    'config.json': { text: '{"model_type": "llama",' },
    'tokenizer.json': join(STORIES, 'tokenizer.json'),
    'tokenizer_config.json': join(STORIES, 'tokenizer_config.json'),
    'onnx/model.onnx': join(STORIES, 'onnx', 'model.onnx'),
  });
  const noOnnx = linkFolder({
    'config.json': join(STORIES, 'config.json'),
    'tokenizer.json': join(STORIES, 'tokenizer.json'),
    'tokenizer_config.json': join(STORIES, 'tokenizer_config.json'),
  });
  t.after(() => {
    corrupt.cleanup();
    noOnnx.cleanup();
  });
  const cases: Array<{
    name: string;
    args: string[];
    input?: string | Uint8Array;
    code: number;
    message: RegExp;
  }> = [
    {
      name: 'missing model folder',
      args: ['--model', join(home, 'no-such-model'), 'hi'],
      code: 4,
      message: /Model folder not found/,
    },
    {
      name: 'corrupt config.json',
      args: ['--model', corrupt.dir, 'hi'],
      code: 3,
      message: /config\.json is not valid JSON/,
    },
    {
      name: 'no ONNX file',
      args: ['--model', noOnnx.dir, 'hi'],
      code: 3,
      message: /No supported ONNX layout .*no \.onnx files/,
    },
    {
      name: 'prompt longer than the context',
      args: ['--model', GPT2, 'hello world '.repeat(100)],
      code: 7,
      message: /The prompt is \d+ tokens; the model's context is 128 tokens/,
    },
    {
      name: '--temperature -1',
      args: ['--model', STORIES, '--temperature', '-1', 'hi'],
      code: 2,
      message: /--temperature/,
    },
    {
      name: '--temperature=-1',
      args: ['--model', STORIES, '--temperature=-1', 'hi'],
      code: 2,
      message: /--temperature must be a number >= 0, got '-1'/,
    },
    {
      name: '--top-p 2',
      args: ['--model', STORIES, '--top-p', '2', 'hi'],
      code: 2,
      message: /--top-p must be a number in \(0, 1\], got '2'/,
    },
    {
      name: '-n abc',
      args: ['--model', STORIES, '-n', 'abc', 'hi'],
      code: 2,
      message: /--max-new-tokens must be an integer in 0\.\.16777216, got 'abc'/,
    },
    {
      name: 'invalid UTF-8 on stdin',
      args: ['--model', STORIES],
      input: Uint8Array.from([0x48, 0xff, 0xfe, 0x0a]),
      code: 7,
      message: /stdin is not valid UTF-8/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      assertOneLineError(await generate(c.args, c.input ?? ''), c.code, c.message);
    });
  }
});

test('EPIPE: a reader that closes the pipe early (| head -c 20) is not an error', async () => {
  const command = [
    'set -o pipefail;',
    'node',
    JSON.stringify(BIN),
    'generate',
    '--model',
    JSON.stringify(STORIES),
    ...LONG,
    '-n',
    '400',
    JSON.stringify(golden.prompt),
    '| head -c 20',
  ].join(' ');
  // A few rounds: where generation is when the pipe closes varies from run to run.
  for (let round = 0; round < 3; round++) {
    const result = await execa(command, {
      shell: '/bin/bash',
      cwd: repoRoot,
      env,
      extendEnv: false,
      reject: false,
      input: '',
      timeout: 60_000,
    });
    assert.equal(result.exitCode, 0, `round ${round}: stderr: ${result.stderr}`);
    assert.equal(result.stdout, golden.continuation_text.slice(0, 20));
    assert.equal(result.stderr, '', `round ${round}`);
  }
});

test('SIGINT mid-generation: exit code 130, the text produced so far is on stdout, nothing else happens', async () => {
  const generator = await loadModel(STORIES, { inProcess: true });
  const full = (
    await generateAll(generator, golden.prompt, { max_new_tokens: 500, suppress_tokens: [1, 2] })
  ).done.sequences[0].text;
  await generator.dispose();
  // A few rounds: how far generation gets before the signal lands varies from run to run.
  for (let round = 0; round < 3; round++) {
    const child = execa(
      'node',
      [BIN, 'generate', '--model', STORIES, ...LONG, '-n', '500', golden.prompt],
      { cwd: repoRoot, env, extendEnv: false, reject: false, input: '', timeout: 60_000 },
    );
    child.stdout.once('data', () => child.kill('SIGINT'));
    const result = await child;
    assert.equal(
      result.signal,
      undefined,
      `round ${round}: killed by ${result.signal}; stderr: ${result.stderr}`,
    );
    assert.equal(result.exitCode, 130, `round ${round}: stderr: ${result.stderr}`);
    assert.equal(result.stderr, '', `round ${round}`);
    const out = String(result.stdout);
    assert.ok(out.length > 0, `round ${round}: some text was produced`);
    assert.ok(full.startsWith(out), `round ${round}: stdout is a prefix of the full generation`);
    assert.ok(out.length < full.length, `round ${round}: generation was cut short`);
  }
});
