// The prompt of `textgen generate`: piped stdin first (strict UTF-8, one trailing newline dropped),
// then the arguments on the next line; a terminal without arguments is a usage error, an empty pipe
// an allowed empty prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { collectPrompt, readStdin } from '../../commands/prompt-input.js';
import { ExitCode, InputError, UsageError } from '../../generation/errors.js';

/** A stdin made of these chunks; `isTTY` as a terminal would have it. */
function stdin(chunks: Array<string | Buffer>, isTTY = false): NodeJS.ReadStream {
  return Object.assign(Readable.from(chunks), { isTTY }) as unknown as NodeJS.ReadStream;
}

test('readStdin decodes UTF-8 split anywhere across chunks and rejects invalid bytes', async () => {
  const bytes = Buffer.from('Tom said 你好 to Lily\n');
  const cut = bytes.indexOf(Buffer.from('你')) + 1; // inside the 3-byte character
  assert.equal(
    await readStdin(stdin([bytes.subarray(0, cut), bytes.subarray(cut)])),
    'Tom said 你好 to Lily\n',
  );
  await assert.rejects(readStdin(stdin([Buffer.from([0x61, 0xff, 0x62])])), (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.exitCode, ExitCode.input);
    assert.match(e.hint ?? '', /UTF-8/);
    return true;
  });
});

test('collectPrompt: piped text (one trailing newline dropped) then the arguments', async () => {
  assert.equal(await collectPrompt(['Summarize:'], stdin(['notes\r\n'])), 'notes\nSummarize:');
  assert.equal(await collectPrompt([], stdin(['a\n\n'])), 'a\n');
  assert.equal(await collectPrompt(['Once', 'upon'], stdin([], true)), 'Once upon');
  assert.equal(await collectPrompt([], stdin([])), '', 'an empty pipe is an empty prompt');
  assert.equal(await collectPrompt([''], stdin([], true)), '', 'so is an explicit ""');
});

test('collectPrompt: a terminal and no arguments is a usage error with a hint', async () => {
  await assert.rejects(collectPrompt([], stdin([], true)), (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, /No prompt given/);
    assert.match(e.hint ?? '', /pipe text on stdin/);
    return true;
  });
});
