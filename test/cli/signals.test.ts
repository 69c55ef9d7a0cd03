// cli/signals in a child process, with real signals: the first SIGINT (or SIGTERM) only aborts the
// command's signal with reason "signal"; a second SIGINT kills the process by SIGINT, as a shell
// expects; "pipe" (stdout closed) aborts with its own reason; the first reason wins; dispose()
// removes the handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { installSignals } from '../../cli/signals.js';
import { repoRoot } from '../shared-fixtures.js';

const SIGNALS = pathToFileURL(join(repoRoot, 'cli', 'signals.ts')).href;

/** Runs module code in a child under tsx with the signals installed as `stopper`. */
function child(code: string) {
  return execa(
    'node',
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { installSignals } = await import(${JSON.stringify(SIGNALS)});
       const stopper = installSignals();
       ${code}`,
    ],
    { cwd: repoRoot, reject: false, timeout: 60_000 },
  );
}

test('first SIGINT aborts with reason "signal", the second kills the process by SIGINT', async () => {
  const r = await child(`
    stopper.signal.addEventListener('abort', () => {
      process.stdout.write('aborted:' + stopper.reason() + ':' + stopper.signal.reason.message + '\\n');
      process.kill(process.pid, 'SIGINT');
    });
    process.kill(process.pid, 'SIGINT');
    setInterval(() => {}, 1000);
  `);
  assert.equal(r.stdout, 'aborted:signal:interrupted');
  assert.equal(r.signal, 'SIGINT', `killed by SIGINT (exit ${r.exitCode}, ${r.stderr})`);
});

test('SIGTERM aborts like SIGINT; dispose() removes the handlers', async () => {
  const r = await child(`
    stopper.signal.addEventListener('abort', () => {
      process.stdout.write(stopper.reason() + ' ' + process.listenerCount('SIGTERM'));
      stopper.dispose();
      process.stdout.write(' ' + process.listenerCount('SIGTERM') + ' ' + process.listenerCount('SIGINT'));
      process.exit(0);
    });
    process.kill(process.pid, 'SIGTERM');
    setInterval(() => {}, 1000);
  `);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, 'signal 1 0 0');
});

test('stop("pipe") aborts with its own reason and the first reason wins', (t) => {
  const stopper = installSignals();
  t.after(() => stopper.dispose());
  assert.equal(stopper.reason(), undefined);
  assert.equal(stopper.signal.aborted, false);
  stopper.stop('pipe');
  stopper.stop('signal');
  assert.equal(stopper.reason(), 'pipe');
  assert.equal(stopper.signal.aborted, true);
  assert.equal((stopper.signal.reason as Error).message, 'output closed');
});
