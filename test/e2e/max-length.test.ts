// Issue 17 item 7 end to end: Hugging Face's total lengths (`max_length`, `min_length`: prompt
// included) from flags, the user config and generation_config.json, with max_new_tokens winning when
// one layer sets both and a later layer beating an earlier one. Runs the built CLI on a copy of the
// embedded default model (nothing outside the repository), EOS suppressed by min_length so every
// count is exact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, defaultModelDir, textgen } from '../commands/chat-fixtures.js';

const PROMPT = 'Call me';
let root: string;
let env: Record<string, string>;
/** Prompt tokens of PROMPT (BOS included), measured once through the CLI. */
let promptTokens: number;

/** A copy of the default model (symlinks) with its own generation_config.json. */
function makeFolder(name: string, generationConfig: Record<string, unknown>): string {
  const dir = mkdtempSync(join(root, `${name}-`));
  for (const entry of readdirSync(defaultModelDir))
    if (entry !== 'generation_config.json')
      symlinkSync(join(defaultModelDir, entry), join(dir, entry));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(generationConfig));
  return dir;
}

/** `generate --json` greedily on `model`; returns the completion token count. */
async function completion(model: string, args: string[], extraEnv = env): Promise<number> {
  const run = await textgen(
    ['generate', '-m', model, '--json', '--temperature', '0', ...args, PROMPT],
    extraEnv,
  );
  assert.equal(run.exitCode, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.equal(out.usage.prompt_tokens, promptTokens, 'the prompt is counted the same way');
  return out.usage.completion_tokens;
}

before(async () => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'textgen-maxlen-'));
  env = {
    PATH: process.env.PATH ?? '',
    HOME: join(root, 'home'),
    HF_HUB_CACHE: join(root, 'hub'),
    TEXTGEN_CONFIG_DIR: join(root, 'config'),
    TEXTGEN_DATA_DIR: join(root, 'data'),
  };
  const run = await textgen(['generate', '-m', defaultModelDir, '--json', '-n', '1', PROMPT], env);
  assert.equal(run.exitCode, 0, run.stderr);
  promptTokens = JSON.parse(run.stdout).usage.prompt_tokens;
  assert.ok(promptTokens > 1, `the prompt has tokens: ${promptTokens}`);
});
after(() => rmSync(root, { recursive: true, force: true }));

test('--max-length and --min-length count the prompt: exactly max_length - prompt new tokens', async () => {
  const total = promptTokens + 7;
  assert.equal(
    await completion(defaultModelDir, [
      '--max-length',
      String(total),
      '--min-length',
      String(total),
    ]),
    7,
  );
});

test('generation_config.json max_length/min_length apply; a -n flag beats the model max_length', async () => {
  const total = promptTokens + 5;
  const model = makeFolder('gc', {
    ...JSON.parse(readFileSync(join(defaultModelDir, 'generation_config.json'), 'utf8')),
    max_length: total,
    min_length: total,
  });
  assert.equal(await completion(model, []), 5, "the model's total length");
  assert.equal(await completion(model, ['-n', '3']), 3, '-n (a later layer) beats max_length');
  // min_length still holds EOS back: the 9 new tokens all come.
  const longer = makeFolder('gc2', {
    ...JSON.parse(readFileSync(join(defaultModelDir, 'generation_config.json'), 'utf8')),
    min_length: promptTokens + 9,
  });
  assert.equal(await completion(longer, ['-n', '9']), 9, 'min_length with -n');
});

test('the user config sets max_length; flags override it; max_new_tokens wins within one layer', async () => {
  const set = await textgen(['config', 'set', 'max-length', String(promptTokens + 4)], env);
  assert.equal(set.exitCode, 0, set.stderr);
  const min = await textgen(['config', 'set', 'min-length', String(promptTokens + 4)], env);
  assert.equal(min.exitCode, 0, min.stderr);
  try {
    assert.equal(await completion(defaultModelDir, []), 4, 'the config max_length');
    assert.equal(await completion(defaultModelDir, ['-n', '2']), 2, 'a flag -n beats the config');
    // Both in the flag layer: max_new_tokens wins over max_length.
    assert.equal(
      await completion(defaultModelDir, ['--max-length', String(promptTokens + 6), '-n', '1']),
      1,
      'max_new_tokens wins when one layer sets both',
    );
  } finally {
    await textgen(['config', 'unset', 'max-length'], env);
    await textgen(['config', 'unset', 'min-length'], env);
  }
});
