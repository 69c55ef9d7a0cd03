// Issue 16.2: a stdout that fails with anything but EPIPE (a full disk: /dev/full) threw from the
// stream's error handler and printed a Node stack. Every command that writes to stdout now ends with
// one error line and exit code 8; a broken stderr never changes the command's own exit code; a reader
// that closes the pipe early is still exit 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  assertNoStack,
  assertOneLineError,
  fixture,
  sandbox,
  startTextgen,
  textgen,
  type Sandbox,
} from './harness.js';

const fds: number[] = [];
let box: Sandbox;

/** A descriptor on /dev/full, handed to the child as is (a { file } target would be piped by execa). */
function fullFd(): number {
  const fd = openSync('/dev/full', 'w');
  fds.push(fd);
  return fd;
}
let corpus: string;

before(() => {
  assertBuilt();
  box = sandbox();
  corpus = join(box.root, 'corpus.txt');
  writeFileSync(corpus, 'Call me Ishmael. Some years ago, never mind how long precisely.\n');
});
after(() => {
  box.cleanup();
  for (const fd of fds) closeSync(fd);
});

const CASES: Array<{ name: string; args: () => string[]; input?: string }> = [
  { name: 'generate', args: () => ['generate', '-n', '8', 'Once'] },
  { name: 'generate --json', args: () => ['generate', '-n', '4', '--json', 'Once'] },
  {
    name: 'generate --jsonl',
    args: () => ['generate', '--jsonl', '-n', '4'],
    input: '{"prompt":"A"}\n{"prompt":"B"}\n',
  },
  { name: 'chat (piped)', args: () => ['chat', '-n', '4'], input: 'hello\n' },
  { name: 'perplexity --json', args: () => ['perplexity', '--json', corpus] },
  { name: 'models list --json', args: () => ['models', 'list', '--json'] },
  { name: 'doctor', args: () => ['doctor'] },
  { name: 'help', args: () => ['help'] },
  {
    name: 'generate with a gpt2 model',
    args: () => ['generate', '-m', fixture('tiny-random-gpt2'), '-n', '4', 'Hi'],
  },
];

for (const c of CASES) {
  test(`${c.name} > /dev/full: one error line, exit 8, no stack`, async () => {
    const result = await textgen(c.args(), box.env, {
      input: c.input ?? '',
      stdout: fullFd(),
    });
    assertOneLineError(
      result,
      8,
      /^textgen: error: cannot write to stdout: no space left on device \(ENOSPC\)\.$/,
    );
  });
}

test('stderr on /dev/full: the usage error still exits 2 and nothing crashes', async () => {
  const result = await textgen(['generate', '--no-such-flag'], box.env, { stderr: fullFd() });
  assert.equal(result.exitCode, 2);
  assertNoStack(String(result.stdout));
});

test('stderr on /dev/full: a generation with --verbose stats still exits 0 with its text', async () => {
  const result = await textgen(
    ['generate', '-n', '4', '--verbose', '--temperature', '0', 'Once'],
    box.env,
    {
      stderr: fullFd(),
    },
  );
  assert.equal(result.exitCode, 0);
  assert.ok(String(result.stdout).length > 0, 'some text reached stdout');
});

test('a reader that closes the pipe early is still exit 0 with nothing on stderr', async () => {
  const run = startTextgen(
    ['generate', '-n', '200', '--temperature', '0', '--suppress-tokens', '1,2', 'Once'],
    box.env,
    {
      input: '',
      buffer: { stdout: false },
    },
  );
  // Read the first chunk, then close our end of the pipe.
  await new Promise<void>((resolve) => run.stdout!.once('data', () => resolve()));
  run.stdout!.destroy();
  const result = await run;
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.equal(String(result.stderr), '');
});
