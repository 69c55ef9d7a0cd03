// `textgen train` end to end (the built binary): a tiny run on two Moby-Dick chapters writes local/NAME
// into the cache in the layout `textgen generate` loads; Ctrl-C stops with exit 130 and keeps the
// checkpoint, and --resume finishes the run; bad flags are usage errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { Tokenizer } from '@huggingface/tokenizers';
import { uncachedGreedy } from '../ort-greedy.js';
import { fixture } from '../generation/fixtures.js';
import { homeEnv, textgen as run } from './models-cli.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const bin = join(repoRoot, 'bin', 'textgen.js');
const data = join(repoRoot, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data');
const files = [join(data, 'chapter_1.txt'), join(data, 'chapter_2.txt')];
const tiny = [
  '--vocab-size',
  '400',
  '--dim',
  '32',
  '--layers',
  '2',
  '--heads',
  '4',
  '--kv-heads',
  '2',
  '--context',
  '32',
  '--batch',
  '4',
  '--eval-every',
  '10',
  '--eval-windows',
  '8',
  '--checkpoint-every',
  '5',
  '--threads',
  '2',
];
let home: string;
const HF = fixture('stories260K-hf');

before(() => {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'train.js')))
    throw new Error('dist/ is missing: run `npm run build` before these tests');
  home = mkdtempSync(join(tmpdir(), 'textgen-train-'));
});
after(() => rmSync(home, { recursive: true, force: true }));

const env = () => homeEnv(home);
const textgen = (args: string[]) => run(args, env(), { timeout: 120_000 });
const snapshot = (name: string) =>
  join(home, 'hub', `models--local--${name}`, 'snapshots', 'local');

test('trains a tiny model into local/NAME that textgen generate loads', async () => {
  const r = await textgen(['train', ...files, '--name', 'tiny', '--steps', '30', ...tiny]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /step 30\/30/);
  assert.match(r.stderr, /unigram baseline/);
  const dir = snapshot('tiny');
  for (const f of [
    'config.json',
    'generation_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'onnx/model.onnx',
    'onnx/textgen_decoder.onnx',
  ])
    assert.ok(existsSync(join(dir, f)), f);
  assert.equal(
    readFileSync(join(home, 'hub', 'models--local--tiny', 'refs', 'main'), 'utf8'),
    'local',
  );
  const summary = JSON.parse(readFileSync(join(dir, 'training_summary.json'), 'utf8'));
  assert.equal(summary.tokensSeen, 30 * 4 * 32);
  assert.ok(
    existsSync(join(home, 'data', 'training', 'tiny', 'checkpoint.bin')),
    "existsSync(join(home, 'data', 'training', 'tiny', 'checkpoint.bin'))",
  );
  assert.ok(
    summary.history.at(-1).valLoss < summary.history[0].valLoss,
    JSON.stringify(summary.history),
  );
  // What textgen generates from it is what a bare onnxruntime greedy loop on the exported file gives.
  const gen = await textgen([
    'generate',
    '--model',
    'local/tiny',
    '--threads',
    '1',
    '-n',
    '8',
    '--temperature',
    '0',
    '--repetition-penalty',
    '1',
    '--json',
    'Call me',
  ]);
  assert.equal(gen.exitCode, 0, gen.stderr);
  const out = JSON.parse(gen.stdout) as { sequences: Array<{ token_ids: number[] }> };
  const tokenizer = new Tokenizer(
    JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
  );
  const expected = await uncachedGreedy(
    join(dir, 'onnx', 'model.onnx'),
    tokenizer.encode('Call me').ids,
    8,
    [
      (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { eos_token_id: number })
        .eos_token_id,
    ],
  );
  assert.deepEqual(out.sequences[0].token_ids, expected);
});

test('Ctrl-C stops cleanly with the checkpoint kept, and --resume completes the run', async () => {
  const child = execa(
    'node',
    [bin, 'train', ...files, '--name', 'stop', '--steps', '400', ...tiny],
    { cwd: repoRoot, env: env(), extendEnv: false, reject: false, timeout: 120_000 },
  );
  let sent = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    if (!sent && /step \d+\/400/.test(chunk.toString())) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const r = await child;
  assert.equal(r.exitCode, 130, r.stderr);
  assert.match(r.stderr, /continue with --resume/);
  const ckpt = JSON.parse(
    readFileSync(join(home, 'data', 'training', 'stop', 'checkpoint.json'), 'utf8'),
  );
  assert.ok(ckpt.step > 0 && ckpt.step < 400, 'ckpt.step > 0 && ckpt.step < 400');
  const resumed = await textgen([
    'train',
    ...files,
    '--name',
    'stop',
    '--steps',
    String(ckpt.step + 10),
    '--resume',
    '--threads',
    '1',
  ]);
  assert.equal(resumed.exitCode, 0, resumed.stderr);
  assert.match(resumed.stderr, /Resuming/);
  assert.ok(
    existsSync(join(snapshot('stop'), 'onnx', 'model.onnx')),
    "existsSync(join(snapshot('stop'), 'onnx', 'model.onnx'))",
  );
});

test('flags are checked before any work', async () => {
  for (const args of [
    ['train', ...files],
    ['train', '--name', 'x'],
    ['train', ...files, '--name', 'x', '--heads', '3'],
    ['train', ...files, '--name', 'x', '--resume'],
    // Names that cannot be a model id (local/NAME) are refused before training, not after it.
    ['train', ...files, '--name', 'ends-with-dash-'],
    ['train', ...files, '--name', 'a--b'],
    ...(existsSync(HF) ? [['convert', HF, '--name', 'ends-with-dash-']] : []),
  ]) {
    const r = await textgen(args);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(String(r.stderr), /Training|Converting/, 'no work was started');
  }
  assert.equal(existsSync(join(home, 'hub', 'models--local--ends-with-dash-')), false);
});
