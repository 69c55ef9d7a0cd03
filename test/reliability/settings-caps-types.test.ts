// Issue 16 items 5 and 6 for settings: every numeric setting is capped and every value typed by the
// one schema, from every source — a flag, a --jsonl line, the config file, a session file — with a
// one-line error naming the source and the key, never a V8 abort (exit 134) or an internal error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  defaultModelSandbox,
  textgen,
  type ChatSandbox,
} from '../commands/chat-fixtures.js';
import { headerRecord, recordsText } from '../../generation/chat/session-log.js';
import {
  checkGenerationMemory,
  resolveSettings,
  MAX_BATCH_ROWS,
} from '../../generation/settings.js';
import { UsageError } from '../../generation/errors.js';

async function withBox(fn: (box: ChatSandbox) => Promise<void>): Promise<void> {
  assertBuilt();
  const box = defaultModelSandbox();
  try {
    await fn(box);
  } finally {
    box.cleanup();
  }
}

/** One `textgen: error:` line (and at most a hint), no stack, no internal error. */
function oneLine(stderr: string, message: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.match(lines[0], /^textgen: error: /, stderr);
  assert.match(lines[0], message, stderr);
  assert.ok(lines.length === 1 || (lines.length === 2 && lines[1].startsWith('  hint: ')), stderr);
  assert.doesNotMatch(stderr, /internal error|\n\s+at /);
}

const huge = '1000000000';

test('huge beams and sequences from flags are usage errors naming the flag', () =>
  withBox(async (box) => {
    for (const [flag, value] of [
      ['--num-beams', huge],
      ['--num-return-sequences', huge],
      ['--max-new-tokens', '99999999999999'],
      ['--top-k', '1e12'],
      ['--seed', '-1'],
    ]) {
      const run = await textgen(['generate', '-m', 'local/tiny', `${flag}=${value}`, 'A'], box.env);
      assert.equal(run.exitCode, 2, `${flag} ${value}: ${run.stderr}`);
      oneLine(run.stderr, new RegExp(`^textgen: error: ${flag} must be `));
    }
    const chat = await textgen(['chat', '-m', 'local/tiny', '--num-beams', huge], box.env, 'x\n');
    assert.equal(chat.exitCode, 2);
    oneLine(chat.stderr, /--num-beams must be an integer in 1\.\.256/);
  }));

test('--jsonl: a bad line gets an error object in its place, the others are answered, the exit code is non-zero', () =>
  withBox(async (box) => {
    const input = [
      '{"prompt":"A","stop":"x","max_new_tokens":3}',
      `{"prompt":"B","num_beams":${huge}}`,
      '{"prompt":"C","stop":5}',
      '{"prompt":"D","temprature":0}',
      '{"prompt":"E","top_k":"5"}',
      'not json',
      `{"prompt":"F","num_return_sequences":${huge},"do_sample":true}`,
      '{"prompt":"G","max-new-tokens":2,"temperature":0}',
    ].join('\n');
    const run = await textgen(
      ['generate', '-m', 'local/tiny', '--jsonl', '-n', '3'],
      box.env,
      input,
    );
    assert.equal(run.exitCode, 2, run.stderr);
    oneLine(
      run.stderr,
      /6 of 8 --jsonl lines failed \(first: --jsonl line 2: num-beams must be an integer in 1\.\.256/,
    );
    const out = run.stdout.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      out.map((o) => o.line),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.ok(
      out[0].sequences && out[7].sequences,
      'expected out[0].sequences && out[7].sequences',
    );
    assert.equal(out[7].sequences[0].token_ids.length, 2);
    const errors = out
      .filter((o) => o.error)
      .map((o) => [o.line, o.error.message, o.error.exit_code]);
    assert.deepEqual(
      errors.map(([line, , code]) => [line, code]),
      [
        [2, 2],
        [3, 2],
        [4, 2],
        [5, 2],
        [6, 2],
        [7, 2],
      ],
    );
    assert.match(
      errors[1][1],
      /^--jsonl line 3: stop must be a non-empty string or a list of them, got 5$/,
    );
    assert.match(errors[2][1], /^--jsonl line 4: unknown setting 'temprature'$/);
    assert.match(errors[3][1], /^--jsonl line 5: top-k must be an integer in 0\.\.\d+, got "5"$/);
    assert.match(errors[4][1], /^--jsonl line 6 is not valid JSON\.$/);
  }));

test('huge values in the config file are one line naming the file and the key, for every command', () =>
  withBox(async (box) => {
    mkdirSync(box.env.TEXTGEN_CONFIG_DIR, { recursive: true });
    const file = join(box.env.TEXTGEN_CONFIG_DIR, 'config.json');
    writeFileSync(file, JSON.stringify({ settings: { num_return_sequences: Number(huge) } }));
    for (const args of [
      ['generate', '-m', 'local/tiny', 'A'],
      ['chat', '-m', 'local/tiny'],
      ['config', 'show'],
    ]) {
      const run = await textgen(args, box.env, 'x\n');
      assert.equal(run.exitCode, 2, args.join(' '));
      oneLine(
        run.stderr,
        /config file .*config\.json: settings: num-return-sequences must be an integer in 1\.\.256, got 1000000000/,
      );
    }
    assert.equal((await textgen(['config', 'unset', 'num-return-sequences'], box.env)).exitCode, 0);
    assert.equal((await textgen(['config', 'show'], box.env)).exitCode, 0);
  }));

test('huge values in a session file are refused before anything is decoded', () =>
  withBox(async (box) => {
    const dir = join(box.env.TEXTGEN_DATA_DIR, 'sessions');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'beams.jsonl'),
      recordsText([headerRecord(), { type: 'settings', settings: {} }]) +
        `${JSON.stringify({ type: 'settings', settings: { num_beams: Number(huge) } })}\n`,
    );
    const run = await textgen(['chat', '-m', 'local/tiny', '--session', 'beams'], box.env, 'x\n');
    assert.equal(run.exitCode, 7);
    oneLine(
      run.stderr,
      /session file .*beams\.jsonl line 3: settings: num-beams must be an integer in 1\.\.256/,
    );
  }));

test('rows and memory are checked before decoding: the error says which settings to lower', () => {
  const facts = {
    vocabSize: 151_936,
    contextLength: 32_768,
    kvBytesPerToken: 24_576,
    fullPrefillLogits: false,
  };
  const beams = resolveSettings({
    num_beams: 64,
    num_return_sequences: 8,
    do_sample: false,
    max_new_tokens: 32_000,
  });
  // 65 prompts × 64 beams is over the row cap whatever the memory.
  assert.throws(
    () => checkGenerationMemory(beams, 65, 100, facts, 1e15),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message ===
        `65 prompt(s) × 64 beams = 4160 rows is more than textgen decodes at once (${MAX_BATCH_ROWS}).`,
  );
  // 8 prompts × 64 beams over a 32k context: ~13 GiB of KV cache, refused against an 8 GiB budget.
  assert.throws(
    () => checkGenerationMemory(beams, 8, 100, { ...facts }, 8 * 1024 ** 3),
    (e: unknown) =>
      e instanceof UsageError &&
      /^8 prompt\(s\) × 64 beams = 512 rows would need about [\d.]+ GiB for logits and KV cache; the limit here is 8 GiB\.$/.test(
        e.message,
      ) &&
      /--num-beams, --num-return-sequences or --batch-size/.test(e.hint ?? ''),
  );
  // The same call with max_new_tokens 100 fits.
  const short = resolveSettings({
    num_beams: 64,
    num_return_sequences: 8,
    do_sample: false,
    max_new_tokens: 100,
  });
  assert.ok(
    checkGenerationMemory(short, 8, 100, facts, 8 * 1024 ** 3) < 8 * 1024 ** 3,
    'expected checkGenerationMemory(short, 8, 100, facts, 8 * 1024 ** 3) < 8 * 1024 ** 3',
  );
  // Without num_logits_to_keep, prefill logits count for every prompt position.
  const one = resolveSettings({ max_new_tokens: 1 });
  const small = { ...facts, contextLength: 4096, kvBytesPerToken: 2048 };
  assert.throws(() =>
    checkGenerationMemory(one, 256, 4000, { ...small, fullPrefillLogits: true }, 8 * 1024 ** 3),
  );
  assert.ok(
    checkGenerationMemory(one, 256, 4000, small, 8 * 1024 ** 3) > 0,
    'expected checkGenerationMemory(one, 256, 4000, small, 8 * 1024 ** 3) > 0',
  );
});
