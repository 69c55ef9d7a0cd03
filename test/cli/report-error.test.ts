// reportError is the one place errors reach the user: a typed error is one line plus its hint and
// its own exit code; anything else is an internal error (exit 1) whose first line only is shown; a
// stack appears only with TEXTGEN_DEBUG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { reportError } from '../../cli/report-error.js';
import { ExitCode, InputError, TextgenError, UsageError } from '../../common/errors.js';

/** Runs reportError into a buffer; returns the code and the text written. */
function report(error: unknown, debug = false): { code: number; text: string } {
  const saved = process.env.TEXTGEN_DEBUG;
  if (debug) process.env.TEXTGEN_DEBUG = '1';
  else delete process.env.TEXTGEN_DEBUG;
  try {
    const out = new PassThrough();
    const code = reportError(error, out);
    return { code, text: String(out.read() ?? '') };
  } finally {
    if (saved === undefined) delete process.env.TEXTGEN_DEBUG;
    else process.env.TEXTGEN_DEBUG = saved;
  }
}

test('a typed error: one line, its hint, its exit code, no stack', () => {
  const r = report(new InputError('The prompt is 600 tokens.', 'Shorten it.'));
  assert.equal(r.code, ExitCode.input);
  assert.equal(r.text, 'textgen: error: The prompt is 600 tokens.\n  hint: Shorten it.\n');
  const plain = report(new TextgenError('Disk full.', { exitCode: 9 }));
  assert.deepEqual([plain.code, plain.text], [9, 'textgen: error: Disk full.\n']);
  assert.equal(report(new UsageError('Bad flag.')).code, ExitCode.usage);
});

test('anything else is an internal error: first line only, a bug hint, exit 1', () => {
  const r = report(new RangeError('index 7 out of range\n    at frame (x.js:1:1)'));
  assert.equal(r.code, ExitCode.failure);
  assert.equal(
    r.text,
    'textgen: internal error: index 7 out of range\n' +
      '  hint: this is a bug in textgen; rerun with TEXTGEN_DEBUG=1 for details and report it.\n',
  );
  assert.equal(
    report('a thrown string').text.split('\n')[0],
    'textgen: internal error: a thrown string',
  );
});

test('TEXTGEN_DEBUG adds the stack after the lines', () => {
  const error = new InputError('Bad input.', 'Fix it.');
  const r = report(error, true);
  assert.ok(r.text.startsWith('textgen: error: Bad input.\n  hint: Fix it.\n'), r.text);
  assert.ok(r.text.includes(error.stack!), 'the stack is printed');
  assert.ok(report(new Error('boom'), true).text.includes('at '), 'internal errors get it too');
});
