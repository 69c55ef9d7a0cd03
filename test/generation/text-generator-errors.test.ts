// The worker TextGenerator re-types errors thrown on the model worker: what crosses the thread is
// name, message, exit code and hint, and the main thread must get the same typed error back
// (instanceof, exit code, hint), for loading, generating and tokenizing. Real worker, real models:
// the embedded one (in every clone) and copies of it with a broken file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExitCode,
  InputError,
  ModelError,
  TextgenError,
  UsageError,
} from '../../generation/errors.js';
import { loadModel, resolveSettings } from '../../generation/index.js';
import { repoRoot } from '../shared-fixtures.js';

const DEFAULT = join(repoRoot, 'models', 'default');

/** Asserts `error` is a `type` with the exit code and a non-empty hint. */
function assertTyped(
  error: unknown,
  type: new (...args: never[]) => TextgenError,
  exitCode: number,
  message: RegExp,
): true {
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
  assert.equal(error.name, type.name);
  assert.equal(error.exitCode, exitCode);
  assert.match(error.message, message);
  assert.ok(error.hint && error.hint.length > 0, `a hint comes along: ${error.hint}`);
  return true;
}

test('a model file ONNX Runtime cannot load is a ModelError on the main thread', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'textgen-broken-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(DEFAULT, dir, { recursive: true });
  // Every graph of the folder (the fused one is preferred when present), so no fallback loads.
  for (const file of readdirSync(join(dir, 'onnx')).filter((f) => f.endsWith('.onnx')))
    writeFileSync(join(dir, 'onnx', file), 'not a protobuf');
  await assert.rejects(loadModel(dir), (e) => assertTyped(e, ModelError, ExitCode.model, /./));
});

test('errors thrown while generating come back typed: InputError and UsageError', async (t) => {
  const model = await loadModel(DEFAULT, { threads: 1 });
  t.after(() => model.dispose());
  const generate = async (prompt: string, layer: Parameters<typeof resolveSettings>[0]) => {
    const settings = resolveSettings(model.info.generationDefaults, layer);
    for await (const event of model.generate({ prompt, settings })) void event;
  };
  // Longer than the 256-token context.
  await assert.rejects(generate('whale '.repeat(400), { max_new_tokens: 4 }), (e) =>
    assertTyped(e, InputError, ExitCode.input, /context/),
  );
  // A logit_bias id outside the vocabulary is rejected where the processors are built (the worker).
  await assert.rejects(generate('Call me', { max_new_tokens: 4, logit_bias: { 99999: 1 } }), (e) =>
    assertTyped(e, UsageError, ExitCode.usage, /99999/),
  );
  // The worker is still usable afterwards.
  assert.ok((await model.tokenize('Call me')).length > 0, 'tokenize works after the errors');
});
