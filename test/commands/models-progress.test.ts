import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { progressReporter } from '../../commands/models-progress.js';
import { formatRevision, renderTable } from '../../commands/models-format.js';

function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (d) => (text += String(d)));
  return { stream, text: () => text };
}

test('a terminal gets a redrawn bar with bytes, rate and ETA', () => {
  const out = capture(true);
  let now = 1_000_000;
  const report = progressReporter(out.stream, () => now);
  report({ type: 'file-start', file: 'onnx/model.onnx', size: 4 << 20, resumeFrom: 1 << 20 });
  // 1 MiB in 2 s since the start (past the 100 ms redraw interval): 512 KB/s, 4 s left.
  now += 2000;
  report({ type: 'file-progress', file: 'onnx/model.onnx', done: 2 << 20, size: 4 << 20 });
  now += 4000;
  report({ type: 'file-done', file: 'onnx/model.onnx', size: 4 << 20, fetched: 3 << 20 });
  // The line starts with carriage return + ESC[K (erase line).
  assert.match(
    out.text(),
    // eslint-disable-next-line no-control-regex
    /\r\u001b\[K {2}onnx\/model\.onnx {2}\[#{12}-{12}\] {2}50% {2}2 MiB\/4 MiB {2}[\d.]+ (B|KiB|MiB|GiB)\/s {2}ETA [\d.]+s/,
  );
  assert.match(out.text(), /onnx\/model\.onnx {2}4 MiB {2}downloaded in [\d.]+s/);
});

test('a pipe gets plain lines, with the resume point for big files', () => {
  const out = capture(false);
  const report = progressReporter(out.stream);
  report({ type: 'waiting-for-lock', pid: 42 });
  report({ type: 'file-cached', file: 'config.json', size: 489 });
  report({ type: 'file-start', file: 'onnx/model.onnx', size: 4 << 20, resumeFrom: 1 << 20 });
  report({ type: 'file-progress', file: 'onnx/model.onnx', done: 2 << 20, size: 4 << 20 });
  report({ type: 'file-retry', file: 'onnx/model.onnx', done: 2 << 20, error: 'socket hang up' });
  assert.equal(
    out.text(),
    'Waiting for another pull of this model to finish (pid 42)...\n' +
      '  config.json  489 B  already in the cache\n' +
      'Downloading onnx/model.onnx (4 MiB), resuming at 1 MiB\n' +
      '  onnx/model.onnx: interrupted at 2 MiB (socket hang up); retrying\n',
  );
});

test('revisions and tables', () => {
  assert.equal(formatRevision(['main'], 'a'.repeat(40)), 'main (aaaaaaa)');
  assert.equal(formatRevision([], 'local'), 'local');
  assert.equal(
    renderTable([
      ['A', 'BB'],
      ['ccc', 'd'],
    ]),
    'A    BB\nccc  d\n',
  );
});
