// Issue 16.1: a long prompt on the command line crashed the model worker (SIGSEGV inside
// onnxruntime's telemetry start-up, which scans /proc/self/cmdline recursively). Up to 1 MB of
// arguments, on generate and chat, must end in a clean answer or a one-line error, never a signal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  assertNoStack,
  assertOneLineError,
  sandbox,
  startTextgen,
  textgen,
  type Sandbox,
} from './harness.js';

let box: Sandbox;

before(() => {
  assertBuilt();
  box = sandbox();
});
after(() => box.cleanup());

/** `count` arguments of `bytes` characters each (Linux caps one argument at 128 KiB). */
function bigArgs(count: number, bytes: number, unit = 'Call me Ishmael. '): string[] {
  const arg = unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
  return Array.from({ length: count }, () => arg);
}

test('generate: a 17 KB prompt argument is refused as too long, not a crash', async () => {
  const result = await textgen(['generate', '-n', '3', ...bigArgs(1, 17_000)], box.env);
  assert.equal(result.signal, undefined);
  assertOneLineError(result, 7, /The prompt is .*tokens.*context is 256 tokens/);
});

test('generate: 1 MB of prompt arguments (8 × 128 KB) is refused in one line', async () => {
  const result = await textgen(['generate', '-n', '3', ...bigArgs(8, 131_000)], box.env);
  assert.equal(result.signal, undefined);
  assertOneLineError(result, 7, /The prompt is over \d+ tokens \(\d+ characters\)/);
});

test('generate: a 100 KB argument that is not the prompt (a stop string) does not crash', async () => {
  const result = await textgen(
    ['generate', '-n', '3', '--temperature', '0', '--stop', 'q'.repeat(100_000), 'Call me'],
    box.env,
  );
  assert.equal(result.signal, undefined);
  assert.equal(result.exitCode, 0, String(result.stderr));
  assertNoStack(String(result.stderr));
});

test('chat: a 17 KB and a 128 KB --system prompt give a reply or a one-line error', async () => {
  for (const bytes of [17_000, 131_000]) {
    const result = await textgen(
      ['chat', '-n', '3', '--temperature', '0', '--system', bigArgs(1, bytes)[0]],
      box.env,
      { input: 'hello\n' },
    );
    assert.equal(result.signal, undefined, `${bytes}: killed by ${result.signal}`);
    assertNoStack(String(result.stderr));
    assert.ok(
      result.exitCode === 0 || result.exitCode === 7,
      `${bytes}: exit ${result.exitCode}: ${result.stderr}`,
    );
  }
});

test('onnxruntime telemetry stays off: no mat-debug log and no ~/.cache/Microsoft', async () => {
  const started = Date.now();
  const run = startTextgen(['generate', '-n', '2', 'Call me'], box.env, { input: '' });
  const result = await run;
  // Other processes that load onnxruntime (benches, tests on raw sessions) leave such logs behind:
  // a file of the same pid counts only if this run wrote it (pids are reused).
  const log = `/tmp/mat-debug-${run.pid}.log`;
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.equal(existsSync(join(box.env.XDG_CACHE_HOME, 'Microsoft')), false);
  assert.equal(existsSync(join(box.env.HOME, '.cache', 'Microsoft')), false);
  assert.equal(
    existsSync(log) && statSync(log).mtimeMs >= started - 1000,
    false,
    'onnxruntime wrote its debug log',
  );
});
