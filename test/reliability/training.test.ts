// Issues 16.8 and 18.8, training: a text without blank lines (or without any newline) still gets a
// validation split and a finite validation loss (never NaN); reusing a --name needs --force (or a yes
// on a terminal) and leaves the old model untouched otherwise; a damaged checkpoint is a one-line
// error on --resume, never an internal error, and the checkpoint files are left as they were.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  assertNoStack,
  assertNothingLost,
  assertOneLineError,
  repoRoot,
  sandbox,
  snapshotTree,
  textgen,
  type Sandbox,
} from './harness.js';
import { startInTerminal, ttySkip } from './tty.js';

const CHAPTER = join(
  repoRoot,
  'node_modules',
  '@stdlib',
  'datasets-moby-dick',
  'data',
  'chapter_1.txt',
);
const TINY = [
  '--vocab-size',
  '300',
  '--dim',
  '32',
  '--layers',
  '1',
  '--heads',
  '4',
  '--kv-heads',
  '2',
  '--context',
  '32',
  '--batch',
  '2',
  '--steps',
  '6',
  '--eval-every',
  '3',
  '--eval-windows',
  '4',
  '--checkpoint-every',
  '3',
  '--threads',
  '1',
];
let box: Sandbox;
let oneLine: string;
let lines: string;

before(() => {
  assertBuilt();
  box = sandbox();
  const text = readFileSync(CHAPTER, 'utf8');
  oneLine = join(box.root, 'one-line.txt');
  writeFileSync(oneLine, text.replace(/\s+/g, ' '));
  lines = join(box.root, 'lines.txt');
  // One sentence per line, no blank line anywhere.
  writeFileSync(lines, text.replace(/\s*\n\s*/g, ' ').replace(/([.;!?])\s+/g, '$1\n'));
});
after(() => box.cleanup());

const modelDir = (name: string) =>
  join(box.env.HF_HUB_CACHE, `models--local--${name}`, 'snapshots', 'local');
const ckptDir = (name: string) => join(box.env.TEXTGEN_DATA_DIR, 'training', name);

for (const [label, file, unit] of [
  ['one line, no newline', () => oneLine, 'text'],
  ['lines without blank lines', () => lines, 'lines'],
] as const) {
  test(`a text of ${label} gets a validation split and a finite validation loss`, async () => {
    const name = `split-${unit}`;
    const result = await textgen(['train', file(), '--name', name, ...TINY], box.env);
    const stderr = String(result.stderr);
    assert.equal(result.exitCode, 0, stderr);
    assert.match(stderr, new RegExp(`held-out ${unit}`));
    assert.doesNotMatch(stderr, /NaN/);
    assert.match(stderr, /validation loss +\d+\.\d+ nats\/token/);
    const summary = JSON.parse(readFileSync(join(modelDir(name), 'training_summary.json'), 'utf8'));
    assert.ok(Number.isFinite(summary.valLoss), `valLoss ${summary.valLoss}`);
    assert.ok(summary.valTokens > 32, `more than 32 validation tokens: ${summary.valTokens}`);
  });
}

test('reusing --name without --force is refused and the model and checkpoint are untouched', async () => {
  const first = await textgen(['train', lines, '--name', 'taken', ...TINY], box.env);
  assert.equal(first.exitCode, 0, String(first.stderr));
  const model = snapshotTree(modelDir('taken'));
  const ckpt = snapshotTree(ckptDir('taken'));
  const again = await textgen(['train', oneLine, '--name', 'taken', ...TINY], box.env);
  assertOneLineError(again, 2, /local\/taken already exists/);
  assertNothingLost(model, modelDir('taken'));
  assertNothingLost(ckpt, ckptDir('taken'));
  const forced = await textgen(['train', oneLine, '--name', 'taken', '--force', ...TINY], box.env);
  assert.equal(forced.exitCode, 0, String(forced.stderr));
  assert.notDeepEqual(snapshotTree(modelDir('taken')), model);
});

test('a non-empty --output folder needs --force too', async () => {
  const out = join(box.root, 'out');
  const first = await textgen(['train', lines, '--name', 'o1', '--output', out, ...TINY], box.env);
  assert.equal(first.exitCode, 0, String(first.stderr));
  const before = snapshotTree(out);
  const again = await textgen(['train', lines, '--name', 'o2', '--output', out, ...TINY], box.env);
  assertOneLineError(again, 2, /already exists/);
  assertNothingLost(before, out);
});

test('on a terminal, reusing --name asks; "n" keeps the model', { skip: ttySkip }, async () => {
  const first = await textgen(['train', lines, '--name', 'asked', ...TINY], box.env);
  assert.equal(first.exitCode, 0, String(first.stderr));
  const model = snapshotTree(modelDir('asked'));
  const term = await startInTerminal(['train', lines, '--name', 'asked', ...TINY], box.env);
  try {
    await term.until(/local\/asked already exists.*Replace it\? \[y\/N\]/);
    await term.type('n');
    await term.keys('Enter');
    assert.equal(await term.exitCode(), 0);
    assert.match(await term.capture(), /Nothing trained\./);
  } finally {
    await term.close();
  }
  assertNothingLost(model, modelDir('asked'));
});

const DAMAGE: Array<[string, (dir: string) => void]> = [
  [
    'checkpoint.json is not JSON',
    (d) => writeFileSync(join(d, 'checkpoint.json'), '{"version": 1,'),
  ],
  [
    'checkpoint.json has wrong types',
    (d) => {
      const meta = JSON.parse(readFileSync(join(d, 'checkpoint.json'), 'utf8'));
      meta.config.dim = 'wide';
      writeFileSync(join(d, 'checkpoint.json'), JSON.stringify(meta));
    },
  ],
  ['checkpoint.json is an array', (d) => writeFileSync(join(d, 'checkpoint.json'), '[1,2,3]')],
  ['checkpoint.json is null', (d) => writeFileSync(join(d, 'checkpoint.json'), 'null')],
  ['checkpoint.bin is truncated', (d) => truncateSync(join(d, 'checkpoint.bin'), 1001)],
  ['checkpoint.bin is empty', (d) => truncateSync(join(d, 'checkpoint.bin'), 0)],
  [
    'the tokenizer in checkpoint.json is gone',
    (d) => {
      const meta = JSON.parse(readFileSync(join(d, 'checkpoint.json'), 'utf8'));
      delete meta.bpe;
      writeFileSync(join(d, 'checkpoint.json'), JSON.stringify(meta));
    },
  ],
];

for (const [label, damage] of DAMAGE) {
  test(`--resume with a damaged checkpoint (${label}): one line, exit 7, files kept`, async () => {
    // A model name ends with a letter or digit (local/NAME is a Hub repo id).
    const name = `dmg-${label.replace(/[^a-z]+/g, '-')}`.slice(0, 40).replace(/-+$/, '');
    const first = await textgen(['train', lines, '--name', name, ...TINY], box.env);
    assert.equal(first.exitCode, 0, String(first.stderr));
    damage(ckptDir(name));
    const kept = snapshotTree(ckptDir(name));
    const model = snapshotTree(modelDir(name));
    const result = await textgen(
      ['train', lines, '--name', name, '--resume', ...TINY, '--steps', '9'],
      box.env,
    );
    assertOneLineError(result, 7, /training checkpoint .* is damaged/);
    assertNoStack(String(result.stderr));
    assertNothingLost(kept, ckptDir(name));
    assertNothingLost(model, modelDir(name));
  });
}

test('a --name that cannot be a model id is refused before training (exit 2), nothing written', async () => {
  for (const name of ['ends-', 'two--dashes', '.hidden', 'a/b', '-starts', 'a..b']) {
    const result = await textgen(['train', lines, `--name=${name}`, ...TINY], box.env);
    assertOneLineError(result, 2, /cannot be a model name \(local\/NAME\)/);
    assert.doesNotMatch(String(result.stderr), /Training |step \d/, `no training for ${name}`);
    assert.equal(existsSync(ckptDir(name)), false, `no checkpoint for ${name}`);
  }
});
