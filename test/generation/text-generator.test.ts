// The worker-backed TextGenerator (loadModel without inProcess): dispose() in the middle of a
// generation must not bring the process down. Terminating the worker while it is inside a native
// session.run() aborts the process (SIGABRT), so each scenario runs in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { repoRoot } from './fixtures.js';

const INDEX = pathToFileURL(join(repoRoot, 'generation', 'index.ts')).href;

/**
 * Module code that loads the embedded model (in every clone) in a worker, starts a long greedy
 * generation (EOS held off by min_new_tokens) and runs `then`.
 */
function script(then: string): string {
  return `
    const { loadModel, resolveSettings } = await import(${JSON.stringify(INDEX)});
    const generator = await loadModel(${JSON.stringify(join(repoRoot, 'models', 'default'))});
    const settings = resolveSettings({ do_sample: false, max_new_tokens: 200, min_new_tokens: 200 });
    const events = generator.generate({ prompt: 'Call me Ishmael.', settings });
    ${then}
  `;
}

async function runChild(
  code: string,
): Promise<{ exitCode?: number; signal?: string; stdout: string; stderr: string }> {
  const result = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: repoRoot,
    reject: false,
    timeout: 60_000,
  });
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

test('breaking out of generate() after a few tokens and disposing at once exits cleanly', async () => {
  const code = script(`
    let tokens = 0;
    for await (const event of events) if (event.type === 'token' && ++tokens === 3) break;
    await generator.dispose();
    process.stdout.write('disposed after ' + tokens);
  `);
  for (let round = 0; round < 2; round++) {
    const result = await runChild(code);
    assert.equal(result.signal, undefined, `round ${round}: ${result.stderr}`);
    assert.equal(result.exitCode, 0, `round ${round}: ${result.stderr}`);
    assert.equal(result.stdout, 'disposed after 3');
  }
});

test('dispose() while another task is still reading the events stops that generation as aborted', async () => {
  const code = script(`
    let tokens = 0;
    let disposing;
    let reason;
    for await (const event of events) {
      if (event.type === 'token' && ++tokens === 3) disposing = generator.dispose();
      if (event.type === 'done') reason = event.reason;
    }
    await disposing;
    process.stdout.write(reason + ' after ' + (tokens < 200 ? 'fewer than 200' : tokens) + ' tokens');
  `);
  const result = await runChild(code);
  assert.equal(result.signal, undefined, result.stderr);
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.stdout, 'aborted after fewer than 200 tokens');
});
