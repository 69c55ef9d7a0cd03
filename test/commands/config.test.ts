// `textgen config` end to end (issue 18 item 2): one naming scheme — both spellings accepted, kebab-case
// printed, snake_case in the file — `config get`, default-model validated on set, and the repair of a
// config file whose values are bad with `config set`/`config unset` themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  defaultModelDir,
  defaultModelSandbox,
  textgen,
  type ChatSandbox,
} from './chat-fixtures.js';

async function withBox(fn: (box: ChatSandbox, file: string) => Promise<void>): Promise<void> {
  assertBuilt();
  const box = defaultModelSandbox();
  try {
    await fn(box, join(box.env.TEXTGEN_CONFIG_DIR, 'config.json'));
  } finally {
    box.cleanup();
  }
}

const config = (box: ChatSandbox, ...args: string[]) => textgen(['config', ...args], box.env);

test('config set accepts snake_case and kebab-case; get and show print kebab-case; the file is snake_case', () =>
  withBox(async (box, file) => {
    for (const [key, value] of [
      ['max_new_tokens', '30'],
      ['top-p', '0.9'],
      ['stop', '\\n\\n'],
      ['logit_bias', '13:-5,42:2'],
      ['greedy', 'true'],
    ]) {
      const set = await config(box, 'set', key, value);
      assert.equal(set.exitCode, 0, `${key}: ${set.stderr}`);
    }
    const get = async (key: string) => (await config(box, 'get', key)).stdout;
    assert.equal(await get('max-new-tokens'), '30');
    assert.equal(await get('max_new_tokens'), '30');
    assert.equal(await get('stop'), '["\\n\\n"]');
    assert.equal(await get('logit-bias'), '13:-5,42:2');
    assert.equal(await get('do-sample'), 'false');
    const show = await config(box, 'show');
    assert.match(show.stdout, /^max-new-tokens: 30$/m);
    assert.match(show.stdout, /^top-p: 0\.9$/m);
    assert.doesNotMatch(show.stdout, /_/);
    const json = JSON.parse((await config(box, 'show', '--json')).stdout);
    assert.deepEqual(json.settings, {
      max_new_tokens: 30,
      top_p: 0.9,
      stop: ['\n\n'],
      logit_bias: { 13: -5, 42: 2 },
      do_sample: false,
    });
    assert.deepEqual(Object.keys(json).sort(), [
      'auto_pull',
      'default_model',
      'device',
      'endpoint',
      'last_model',
      'path',
      'settings',
    ]);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).settings, json.settings);
    // The value set is the value used: generate gets 30 new tokens at most, greedily.
    const run = await textgen(['generate', '-m', 'local/tiny', '--json', 'Once'], box.env);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.ok(
      JSON.parse(run.stdout).sequences[0].token_ids.length <= 30,
      'expected JSON.parse(run.stdout).sequences[0].token_ids.length <= 30',
    );
    const unset = await config(box, 'unset', 'max_new_tokens');
    assert.equal(unset.exitCode, 0, unset.stderr);
    const missing = await config(box, 'get', 'max-new-tokens');
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /^textgen: error: max-new-tokens is not set in the user config\./);
  }));

test('bad values are refused by config set with the same message as the flag', () =>
  withBox(async (box) => {
    const cases: Array<[string[], RegExp]> = [
      [['num-beams', '1000000000'], /num-beams must be an integer in 1\.\.256, got '1000000000'/],
      [['top_p', '2'], /top-p must be a number in \(0, 1\], got '2'/],
      [['warmth', '1'], /unknown setting 'warmth'/],
      [['device', 'gpu'], /device must be auto, cpu, cuda(, webgpu)?, got 'gpu'/],
    ];
    for (const [args, message] of cases) {
      const r = await config(box, 'set', ...args);
      assert.equal(r.exitCode, 2, args.join(' '));
      assert.match(r.stderr.split('\n')[0], message);
      assert.match(r.stderr.split('\n')[0], /^textgen: error: /);
    }
  }));

test('default-model is validated on set: a missing model says how to get it; a folder is stored absolute', () =>
  withBox(async (box, file) => {
    const missing = await config(box, 'set', 'default-model', 'nobody/nothing');
    assert.equal(missing.exitCode, 4);
    assert.match(missing.stderr, /not in the cache/);
    assert.match(missing.stderr, /textgen models pull nobody\/nothing/);
    const cached = await config(box, 'set', 'default_model', 'local/tiny');
    assert.equal(cached.exitCode, 0, cached.stderr);
    assert.equal((await config(box, 'get', 'default-model')).stdout, 'local/tiny');
    const folder = await config(box, 'set', 'default-model', defaultModelDir);
    assert.equal(folder.exitCode, 0, folder.stderr);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).default_model, defaultModelDir);
  }));

test('a config file with bad values fails every command with one line naming it and the key; config set/unset repair it', () =>
  withBox(async (box, file) => {
    mkdirSync(box.env.TEXTGEN_CONFIG_DIR, { recursive: true });
    writeFileSync(file, JSON.stringify({ settings: { stop: 5, top_k: '40', 'min-p': 0.1 } }));
    const gen = await textgen(['generate', '-m', 'local/tiny', 'Once'], box.env);
    assert.equal(gen.exitCode, 2);
    assert.match(
      gen.stderr,
      new RegExp(
        `^textgen: error: config file ${file.replace(/[/.]/g, '\\$&')}: settings: stop must be a non-empty string or a list of them, got 5\n  hint: Repair it with \`textgen config set KEY VALUE\` or \`textgen config unset KEY\``,
      ),
    );
    assert.doesNotMatch(gen.stderr, /internal error|\n\s+at /);
    // The tool repairs what it reports: set the bad key right, unset the other.
    assert.equal((await config(box, 'set', 'stop', 'END')).exitCode, 0);
    assert.equal((await config(box, 'unset', 'top-k')).exitCode, 0);
    const fixed = await textgen(['generate', '-m', 'local/tiny', '-n', '4', 'Once'], box.env);
    assert.equal(fixed.exitCode, 0, fixed.stderr);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).settings, {
      stop: ['END'],
      min_p: 0.1,
    });
  }));

test('concurrent config set processes never lose an update', () =>
  withBox(async (box, file) => {
    const keys = ['top-k', 'seed', 'max-new-tokens', 'min-new-tokens', 'no-repeat-ngram-size'];
    const runs = await Promise.all(keys.map((k, i) => config(box, 'set', k, String(i + 1))));
    for (const r of runs) assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).settings, {
      top_k: 1,
      seed: 2,
      max_new_tokens: 3,
      min_new_tokens: 4,
      no_repeat_ngram_size: 5,
    });
  }));
