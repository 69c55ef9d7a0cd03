import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readUserConfig, rememberLastModel, userConfigPath } from '../../commands/user-config.js';
import { TextgenError } from '../../generation/errors.js';

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

test('a hand-written config provides the default model and a settings layer; wrong types are ignored', () =>
  withDir((env, dir) => {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        defaultModel: 'org/m',
        lastModel: 7,
        settings: { temperature: 0.2, top_k: 40 },
      }),
    );
    assert.deepEqual(readUserConfig(env), {
      defaultModel: 'org/m',
      lastModel: undefined,
      settings: { temperature: 0.2, top_k: 40 },
    });
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
