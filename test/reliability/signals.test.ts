// Issues 16.8 and 18.4: signals. Ctrl-C (SIGINT) exits 130 and SIGTERM 143 after the same clean
// shutdown, also while the model is still loading (a load is one native call: the process must not
// wait for it); an interrupted beam search reports "aborted", never "eos"; an interrupted perplexity
// run still reports what it scored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadModel, resolveSettings, type GenerationEvent } from '../../generation/index.js';
import { scoreSlidingWindow } from '../../commands/perplexity-modes.js';
import {
  assertBuilt,
  assertNoStack,
  repoRoot,
  sandbox,
  startTextgen,
  type Sandbox,
} from './harness.js';
import { modelShell } from '../generation/fixtures.js';

// The embedded model: these tests need nothing outside the repository.
const DEFAULT_MODEL = join(repoRoot, 'models', 'default');
let box: Sandbox;

before(() => {
  assertBuilt();
  box = sandbox();
});
after(() => box.cleanup());

/**
 * Opens `fifo` for writing, which completes once the child has opened it for reading. Should the child
 * end first (it failed before loading), the FIFO is opened for reading here to release the pending
 * open, and the test fails with the child's output instead of hanging.
 */
async function openWhenRead(
  fifo: string,
  run: ReturnType<typeof startTextgen>,
): Promise<FileHandle> {
  const writer = open(fifo, 'w');
  const ended = run.then(
    () => 'ended' as const,
    () => 'ended' as const,
  );
  const first = await Promise.race([writer, ended]);
  if (first !== 'ended') return first;
  const reader = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  await (await writer).close();
  await reader.close();
  const result = await run;
  assert.fail(`the process ended before it opened the model: ${String(result.stderr)}`);
}

/**
 * A model folder whose onnx/model.onnx is a FIFO: loading it blocks inside the worker until someone
 * opens the other end, which is how the test knows, without sleeping, that the load has started.
 */
async function fifoModel(name: string): Promise<{ dir: string; fifo: string }> {
  const dir = join(box.root, name);
  modelShell(DEFAULT_MODEL, dir);
  const fifo = join(dir, 'onnx', 'model.onnx');
  await execa('mkfifo', [fifo]);
  return { dir, fifo };
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  test(`${signal} while the model loads: exit ${code} at once, without waiting for the load`, async () => {
    const { dir, fifo } = await fifoModel(`fifo-${signal}`);
    const run = startTextgen(['generate', '-m', dir, '-n', '2', 'Hello'], box.env, {
      input: '',
      timeout: 60_000,
    });
    // Opening the FIFO for writing completes once the worker has opened it for reading.
    const writer = await openWhenRead(fifo, run);
    try {
      run.kill(signal);
      const result = await run;
      assert.equal(result.timedOut, false, 'the process waited for the load');
      // The process ends with the signal's code, or killed by the signal itself (a shell shows both as
      // 128 + n): what matters is that it did not wait for the load.
      assert.ok(
        result.exitCode === code || result.signal === signal,
        `exit ${result.exitCode} / ${result.signal}`,
      );
      assert.equal(String(result.stdout), '');
      assertNoStack(String(result.stderr));
    } finally {
      await writer.close();
    }
  });
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  test(`${signal} during generation: partial text kept, exit ${code}, nothing on stderr`, async () => {
    const run = startTextgen(
      ['generate', '-n', '250', '--temperature', '0', '--suppress-tokens', '1,2', 'Call me'],
      box.env,
      { input: '', buffer: { stdout: false } },
    );
    let text = '';
    run.stdout!.setEncoding('utf8');
    await new Promise<void>((resolve) =>
      run.stdout!.on('data', (chunk: string) => {
        if (!text) resolve();
        text += chunk;
      }),
    );
    run.kill(signal);
    const result = await run;
    assert.equal(result.exitCode, code, `signal ${result.signal}: ${result.stderr}`);
    assert.ok(text.length > 0, 'text was flushed before the interruption');
    assert.equal(String(result.stderr), '');
  });
}

test('an interrupted beam search is "aborted" (every sequence), not "eos"', async () => {
  const generator = await loadModel(DEFAULT_MODEL);
  try {
    const controller = new AbortController();
    controller.abort();
    let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
    for await (const event of generator.generate({
      prompt: 'Call me',
      settings: resolveSettings({
        num_beams: 4,
        num_return_sequences: 2,
        max_new_tokens: 200,
        do_sample: false,
      }),
      signal: controller.signal,
    }))
      if (event.type === 'done') done = event;
    assert.equal(done?.reason, 'aborted');
    assert.deepEqual(
      done?.sequences.map((s) => s.finish_reason),
      ['aborted', 'aborted'],
    );
    assert.ok(
      done!.sequences[0].token_ids.length < 200,
      `stopped early: ${done!.sequences[0].token_ids.length} tokens`,
    );
  } finally {
    await generator.dispose();
  }
});

test('Ctrl-C during a beam search from the CLI: exit 130, its line reports "aborted"', async () => {
  // Line 1 answers at once; its output is the event that says line 2 (64 beams) is under way.
  const lines = [
    { prompt: 'A', max_new_tokens: 1 },
    {
      prompt: 'Once',
      num_beams: 64,
      num_return_sequences: 2,
      max_new_tokens: 240,
      do_sample: false,
    },
  ];
  const run = startTextgen(
    ['generate', '-m', DEFAULT_MODEL, '--jsonl', '--batch-size', '1'],
    box.env,
    { input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n', buffer: { stdout: false } },
  );
  let out = '';
  run.stdout!.setEncoding('utf8');
  const firstLine = new Promise<void>((resolve) =>
    run.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve();
    }),
  );
  await firstLine;
  run.kill('SIGINT');
  const result = await run;
  assert.equal(result.exitCode, 130, `signal ${result.signal}: ${result.stderr}`);
  assertNoStack(String(result.stderr));
  const answers = out
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(answers.length, 2, out);
  const beams = answers[1].sequences as Array<{ finish_reason: string; token_ids: number[] }>;
  assert.deepEqual(
    beams.map((b) => b.finish_reason),
    ['aborted', 'aborted'],
  );
  assert.ok(beams[0].token_ids.length < 240, `stopped early: ${beams[0].token_ids.length}`);
});

test('an interrupted perplexity run returns what it scored so far', async () => {
  const generator = await loadModel(DEFAULT_MODEL, { inProcess: true });
  try {
    const controller = new AbortController();
    const text = 'Hello world, this is a test of the emergency broadcast system. '.repeat(20);
    const totals = await scoreSlidingWindow(generator, text, 32, 16, controller.signal, (done) => {
      if (done === 2) controller.abort();
    });
    assert.equal(totals.aborted, true);
    assert.equal(totals.units, 2);
    assert.ok(totals.planned! > 2, `more than 2 windows planned: ${totals.planned}`);
    assert.ok(
      totals.tokens > 0 && Number.isFinite(totals.nll),
      `scored tokens with a finite NLL: ${JSON.stringify(totals)}`,
    );
  } finally {
    await generator.dispose();
  }
});
