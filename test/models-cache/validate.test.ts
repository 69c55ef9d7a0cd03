import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertRealInside,
  isSafeRelativePath,
  validateHashName,
  validateRepoFilename,
  validateRepoId,
  validateRevision,
} from '../../models-cache/validate.js';

test('repo ids follow the hub rules', () => {
  const cases: Array<[string, boolean]> = [
    ['org/name', true],
    ['gpt2', true],
    ['onnx-community/Qwen2.5-0.5B-Instruct', true],
    ['a_b/c.d-e', true],
    ['../evil', false],
    ['org/../x', false],
    ['/abs/path', false],
    ['org/na--me', false],
    ['org/name/extra', false],
    ['org/', false],
    ['-org/name', false],
    ['org/name.', false],
    ['org/na me', false],
    ['', false],
  ];
  for (const [id, ok] of cases)
    assert.equal(ok ? validateRepoId(id) === id : throws(() => validateRepoId(id)), true, id);
});

test('revisions are safe ref names', () => {
  const cases: Array<[string, boolean]> = [
    ['main', true],
    ['v1.0', true],
    ['refs/pr/1', true],
    ['0123456789abcdef0123456789abcdef01234567', true],
    ['../main', false],
    ['/etc', false],
    ['a//b', false],
    ['a\\b', false],
    ['', false],
  ];
  for (const [rev, ok] of cases)
    assert.equal(
      ok ? validateRevision(rev) === rev : throws(() => validateRevision(rev)),
      true,
      rev,
    );
});

test('server file names must be plain relative paths', () => {
  const cases: Array<[string, boolean]> = [
    ['config.json', true],
    ['onnx/model_q4.onnx_data_1', true],
    ['../../evil', false],
    ['onnx/../../evil', false],
    ['/etc/passwd', false],
    ['./config.json', false],
    ['C:/x', false],
    ['a\\..\\b', false],
    ['a\0b', false],
    ['dir/', false],
  ];
  for (const [name, ok] of cases) {
    assert.equal(isSafeRelativePath(name), ok, name);
    assert.equal(
      ok ? validateRepoFilename(name) === name : throws(() => validateRepoFilename(name)),
      true,
      name,
    );
  }
});

test('etags and commit hashes must be single safe names', () => {
  const cases: Array<[string, boolean]> = [
    ['0123456789abcdef0123456789abcdef01234567', true],
    ['a'.repeat(64), true],
    ['../blobs', false],
    ['a/b', false],
    ['', false],
    ['..', false],
  ];
  for (const [value, ok] of cases)
    assert.equal(
      ok
        ? validateHashName('etag', value) === value
        : throws(() => validateHashName('etag', value)),
      true,
      value,
    );
});

test('a folder symlinked out of the cache is refused', () => {
  const root = mkdtempSync(join(tmpdir(), 'textgen-validate-'));
  try {
    mkdirSync(join(root, 'cache', 'repo'), { recursive: true });
    mkdirSync(join(root, 'outside'));
    symlinkSync(join(root, 'outside'), join(root, 'cache', 'repo', 'escape'));
    assert.doesNotThrow(() => assertRealInside(join(root, 'cache'), join(root, 'cache', 'repo')));
    assert.throws(
      () => assertRealInside(join(root, 'cache'), join(root, 'cache', 'repo', 'escape')),
      /leads outside the cache/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

function throws(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}
