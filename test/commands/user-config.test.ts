import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readUserConfig,
  rememberLastModel,
  setUserSetting,
  userConfigPath,
} from '../../commands/user-config.js';
import { TextgenError, UsageError } from '../../generation/errors.js';

async function withDir(fn: (env: NodeJS.ProcessEnv, dir: string) => void | Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'textgen-config-'));
  try {
    await fn({ TEXTGEN_CONFIG_DIR: dir }, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('TEXTGEN_CONFIG_DIR holds config.json; a missing file is an empty config', () =>
  withDir((env, dir) => {
    assert.equal(userConfigPath(env), join(dir, 'config.json'));
    assert.deepEqual(readUserConfig(env), {});
  }));

test('rememberLastModel persists across reads', () =>
  withDir(async (env) => {
    await rememberLastModel('local/stories', env);
    await rememberLastModel('Xenova/gpt2', env);
    assert.equal(readUserConfig(env).lastModel, 'Xenova/gpt2');
  }));

test('a hand-written config in any spelling provides the default model and a settings layer', () =>
  withDir((env, dir) => {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        defaultModel: 'org/m',
        'last-model': 'org/n',
        settings: { temperature: 0.2, 'top-k': 40, stop: 'END' },
      }),
    );
    assert.deepEqual(readUserConfig(env), {
      defaultModel: 'org/m',
      lastModel: 'org/n',
      settings: { temperature: 0.2, top_k: 40, stop: ['END'] },
    });
  }));

test('wrong types are one-line usage errors naming the file and the key', () =>
  withDir((env, dir) => {
    const cases: Array<[object, RegExp]> = [
      [{ last_model: 7 }, /last_model must be a model name, got 7/],
      [
        { settings: { stop: 5 } },
        /settings: stop must be a non-empty string or a list of them, got 5/,
      ],
      [{ settings: { num_beams: 1e9 } }, /settings: num-beams must be an integer in 1\.\.256/],
      [{ settings: { warmth: 1 } }, /settings: unknown setting 'warmth'/],
      [{ device: 'gpu' }, /device must be auto, cpu, cuda(, webgpu)?, got "gpu"/],
      [{ temperature: 0.5 }, /unknown key 'temperature'/],
    ];
    for (const [config, message] of cases) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      assert.throws(
        () => readUserConfig(env),
        (e: unknown) =>
          e instanceof UsageError &&
          e.message.startsWith(`config file ${join(dir, 'config.json')}: `) &&
          message.test(e.message) &&
          !e.message.includes('\n') &&
          /config (set|unset)/.test(e.hint ?? ''),
        JSON.stringify(config),
      );
    }
  }));

test('concurrent writers never lose an update (locked read-modify-write)', () =>
  withDir(async (env, dir) => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        setUserSetting(`seed`, i, env).then(() => setUserSetting(`top_k`, i + 1, env)),
      ),
    );
    await Promise.all(['a', 'b', 'c', 'd'].map((m) => rememberLastModel(`org/${m}`, env)));
    const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(Object.keys(raw).sort(), ['last_model', 'settings']);
    assert.deepEqual(Object.keys(raw.settings).sort(), ['seed', 'top_k']);
    assert.ok(
      !existsSync(join(dir, 'config.json.lock')),
      "expected !existsSync(join(dir, 'config.json.lock'))",
    );
  }));

test('an unreadable config is a TextgenError, not a crash', () =>
  withDir((env, dir) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{ broken');
    assert.throws(
      () => readUserConfig(env),
      (e: unknown) =>
        e instanceof TextgenError && /user config file cannot be read/.test(e.message),
    );
  }));
