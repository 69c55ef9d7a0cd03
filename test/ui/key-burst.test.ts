import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBurst, NO_KEY, splitBurst } from '../../ui/key-burst.js';

const summary = (input: string) =>
  splitBurst(input).map(({ input: i, key }) => [
    i,
    Object.entries(key)
      .filter(([, v]) => v)
      .map(([k]) => k)
      .join('+'),
  ]);

test('splitBurst', () => {
  assert.deepEqual(summary('/sh\t'), [
    ['/sh', ''],
    ['', 'tab'],
  ]);
  assert.deepEqual(summary('one\rtwo\r'), [
    ['one', ''],
    ['', 'return'],
    ['two', ''],
    ['', 'return'],
  ]);
  assert.deepEqual(summary('ab\x7fc'), [
    ['ab', ''],
    ['', 'backspace'],
    ['c', ''],
  ]);
  assert.deepEqual(summary('x\x15y'), [
    ['x', ''],
    ['u', 'ctrl'],
    ['y', ''],
  ]);
  assert.deepEqual(summary('a\nb'), [
    ['a', ''],
    ['\n', ''],
    ['b', ''],
  ]);
});

test('isBurst: only multi-character chunks with control characters', () => {
  assert.equal(isBurst('hello', NO_KEY), false);
  assert.equal(isBurst('\r', NO_KEY), false);
  assert.equal(isBurst('hi\r', NO_KEY), true);
  assert.equal(isBurst('hi\r', { ...NO_KEY, meta: true }), false);
});
