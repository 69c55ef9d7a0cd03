// Issue 18.4, signals and streams at the terminal: Ctrl-C during `perplexity` prints what it scored
// so far (and exits 130); piped text ends with a newline before --verbose stats on stderr, and is
// exactly the generated text otherwise.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, repoRoot, sandbox, textgen, type Sandbox } from './harness.js';
import { startInTerminal, ttySkip } from './tty.js';

let box: Sandbox;

before(() => {
  assertBuilt();
  box = sandbox();
});
after(() => box.cleanup());

test(
  'Ctrl-C during perplexity prints the partial result and exits 130',
  { skip: ttySkip },
  async () => {
    // Moby-Dick (a devDependency) scored line by line by the embedded model: thousands of lines, so
    // the run is mid-way when the progress bar shows. Nothing outside the repository is needed.
    const chapters = join(repoRoot, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data');
    const corpus = join(box.root, 'moby-dick.txt');
    writeFileSync(
      corpus,
      readdirSync(chapters)
        .filter((n) => n.endsWith('.txt'))
        .map((n) => readFileSync(join(chapters, n), 'utf8'))
        .join('\n'),
    );
    const term = await startInTerminal(
      ['perplexity', '-m', join(repoRoot, 'models', 'default'), '--by-line', corpus],
      box.env,
      { width: 120, height: 40 },
    );
    try {
      // The progress bar shows once scoring has run for a moment: then it is mid-way.
      await term.until(/ETA/, 60_000);
      await term.keys('C-c');
      assert.equal(await term.exitCode(60_000), 130);
      const pane = await term.capture();
      assert.match(pane, /interrupted: +scored \d+ of \d+ lines before the stop/);
      assert.match(pane, /perplexity: +\d+\.\d+/);
      assert.doesNotMatch(pane, /internal error|^\s+at /m);
    } finally {
      await term.close();
    }
  },
);

test('piped text ends with a newline before --verbose stats; without them it is exact', async () => {
  const args = ['generate', '-n', '6', '--temperature', '0', '--suppress-tokens', '1,2', 'Call me'];
  const plain = await textgen(args, box.env);
  assert.equal(plain.exitCode, 0, String(plain.stderr));
  assert.ok(!String(plain.stdout).endsWith('\n'), 'piped text is exactly the generated text');
  const verbose = await textgen([...args, '--verbose'], box.env);
  assert.equal(verbose.exitCode, 0, String(verbose.stderr));
  assert.equal(String(verbose.stdout), `${String(plain.stdout)}\n`);
  assert.match(String(verbose.stderr), /eval rate/);
  // Both streams into one pipe: the stats start on a line of their own.
  const merged = await textgen([...args, '--verbose'], box.env, { all: true });
  assert.match(String(merged.all), /\n(load duration|prompt eval)/);
  assert.ok(
    String(merged.all).startsWith(String(plain.stdout)),
    'the merged output starts with the plain stdout',
  );
});
