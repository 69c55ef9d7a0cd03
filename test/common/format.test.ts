import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCount, formatDuration, formatRate } from '../../common/format.js';
import { progressBar, progressLine } from '../../common/progress.js';
import { PassThrough } from 'node:stream';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

test('sizes are 1024-based with IEC units and at most three significant digits', () => {
  const cases: Array<[number, string]> = [
    [0, '0 B'],
    [473.6842105263158, '474 B'],
    [500.00000000000006, '500 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [1082992, '1.03 MiB'],
    [12.345 * 1024 ** 2, '12.3 MiB'],
    [1023.9 * 1024, '1 MiB'],
    [50 * 1024 ** 3, '50 GiB'],
    [-1, '?'],
    [NaN, '?'],
  ];
  for (const [n, s] of cases) assert.equal(formatBytes(n), s, `formatBytes(${n})`);
});

test('rates are sizes per second, never long fractions', () => {
  assert.equal(formatRate(473.6842105263158), '474 B/s');
  assert.equal(formatRate(500.00000000000006), '500 B/s');
  assert.equal(formatRate(2.5 * 1024 ** 2), '2.5 MiB/s');
});

test('durations: tenths below ten seconds, then s, m and h', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [0.43, '0.4s'],
    [4.4, '4.4s'],
    [4, '4s'],
    [42.6, '43s'],
    [65, '1m05s'],
    [3700, '1h01m'],
    [Infinity, '?'],
    [-3, '?'],
  ];
  for (const [n, s] of cases) assert.equal(formatDuration(n), s, `formatDuration(${n})`);
  assert.equal(formatCount(1640000), '1,640,000');
});

test('the bar is clamped and always `width` cells', () => {
  assert.equal(progressBar(0.5, 8), '[####----]');
  assert.equal(progressBar(2, 4), '[####]');
  assert.equal(progressBar(NaN, 4), '[----]');
});

function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (d) => (text += String(d)));
  return { stream, text: () => text };
}

test('a terminal redraws in place, throttled; done erases the bar', () => {
  let t = 0;
  const out = capture(true);
  const line = progressLine(out.stream, { drawEveryMs: 100, now: () => t });
  line.update('a');
  t = 50;
  line.update('b');
  t = 150;
  line.update('c');
  line.log('note');
  line.done('end');
  assert.equal(out.text(), '\r\x1b[Ka\r\x1b[Kc\r\x1b[Knote\nend\n');
});

test('a pipe gets a plain line per interval, and forced ones', () => {
  let t = 0;
  const out = capture(false);
  const line = progressLine(out.stream, { plainEveryMs: 1000, now: () => t });
  line.update('a');
  t = 1000;
  line.update('b');
  line.update('c', true);
  line.done();
  assert.equal(out.text(), 'b\nc\n');
});

test('quiet jobs draw nothing', () => {
  let t = 0;
  const out = capture(true);
  const line = progressLine(out.stream, { quietForMs: 500, now: () => t });
  line.update('a');
  t = 100;
  line.done();
  assert.equal(out.text(), '');
});

test('the progress line is drawn in one place: no other source erases a terminal line or draws a bar', () => {
  const root = resolve(import.meta.dirname, '..', '..');
  const owner = join('common', 'progress.ts');
  const drawing = /\\x1b\[K|\\u001b\[K|'#'\.repeat\(/;
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name) && path !== owner) {
        if (drawing.test(readFileSync(join(root, path), 'utf8'))) offenders.push(path);
      }
    }
  };
  for (const dir of ['cli', 'commands', 'common', 'ui', 'models-cache', 'server', 'generation'])
    walk(dir);
  assert.deepEqual(offenders, [], 'these files draw their own progress; use common/progress.ts');
});
