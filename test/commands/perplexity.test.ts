// textgen perplexity: the sliding-window and pair methods against by-hand computations that use the
// decode path (KV cache, one token per step, last-position logits) instead of the scoring pass, and
// the built CLI's --by-line against the golden reference of stories260K.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadModel } from '../../generation/index.js';
import { inspectModelFolder, selectDtype } from '../../generation/model/model-folder.js';
import { openModel } from '../../generation/runtime/open-model.js';
import { DecoderRunner } from '../../generation/runtime/decoder-runner.js';
import { Seq2SeqRunner } from '../../generation/runtime/seq2seq-runner.js';
import { scorePairs, scoreSlidingWindow } from '../../commands/perplexity-modes.js';
import { storiesGolden } from '../generation/goldens.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  repoRoot,
  sharedModels,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';

const models = sharedModels;
const stories = join(models, 'stories260K-onnx');
const t5 = join(models, 'tiny-random-t5');
const sample = join(models, 'corpus-tinystories-sample', 'tinystories-sample.txt');
const bin = join(repoRoot, 'bin', 'textgen.js');
const never = new AbortController().signal;

/** −log softmax(row)[target], written out plainly. */
function nll(row: Float32Array, target: number): number {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return Math.log(sum) + max - row[target];
}

async function runnerOf(dir: string) {
  const folder = inspectModelFolder(dir);
  return (await openModel(folder, folder.layouts[selectDtype(folder, undefined)]!, { threads: 1 }))
    .runner;
}

function textgen(args: string[], input = '') {
  return execa('node', [bin, ...args], {
    cwd: repoRoot,
    reject: false,
    input,
    timeout: 60_000,
    env: { TEXTGEN_CONFIG_DIR: join(repoRoot, 'node_modules', '.textgen-test-none') },
  });
}

before(() => {
  assert.ok(
    readFileSync(join(repoRoot, 'dist', 'commands', 'perplexity.js')),
    'dist/ is missing: run `npm run build` first',
  );
});

test('sliding window (max 8, stride 5) on 27 tokens equals the hand-listed windows scored token by token', async () => {
  const text = 'Once upon a time, there was a little girl named Lily. She loved to play outside.';
  const model = await loadModel(stories, { inProcess: true, threads: 1 });
  const ids = await model.tokenize(text);
  assert.equal(ids.length, 27);
  // [begin, first scored, end): trg_len = end − prev_end, so windows after the first score their last 5
  // (4 in the final, shorter window) tokens and use the 3 before them as context only.
  const windows = [
    [0, 1, 8],
    [5, 8, 13],
    [10, 13, 18],
    [15, 18, 23],
    [20, 23, 27],
  ];
  const runner = (await runnerOf(stories)) as DecoderRunner;
  let sum = 0;
  let count = 0;
  for (const [begin, first, end] of windows) {
    const state = runner.newState(1, 512);
    for (let t = begin + 1; t < end; t++) {
      const logits = await runner.forward(state, [[ids[t - 1]]]);
      if (t >= first) {
        sum += nll(logits, ids[t]);
        count++;
      }
    }
    state.dispose();
  }
  const got = await scoreSlidingWindow(model, text, 8, 5, never, () => {});
  assert.equal(got.tokens, 26);
  assert.equal(count, 26);
  assert.equal(got.units, 5);
  assert.ok(Math.abs(got.nll - sum) / sum < 1e-5, `${got.nll} vs ${sum}`);
  await model.dispose();
});

test('text-to-text pairs: NLL of the target ids (EOS included) under teacher forcing equals step-by-step decoding', async () => {
  const pairs = [
    { input: 'translate English to French: I am happy', target: 'book air' },
    { input: 'summarize: a cat sat', target: 'cat' },
  ];
  const model = await loadModel(t5, { inProcess: true, threads: 1 });
  const runner = (await runnerOf(t5)) as Seq2SeqRunner;
  let sum = 0;
  let count = 0;
  for (const pair of pairs) {
    const input = await model.tokenize(pair.input);
    const target = await model.tokenize(pair.target);
    assert.equal(target[target.length - 1], 1, 'the T5 tokenizer appends </s>');
    const state = await runner.encode([input], 0, 64);
    let logits = await runner.step(state, [0]);
    for (let i = 0; i < target.length; i++) {
      sum += nll(logits, target[i]);
      count++;
      if (i + 1 < target.length) logits = await runner.step(state, [target[i]]);
    }
    state.dispose();
  }
  const got = await scorePairs(
    model,
    pairs.map((p) => JSON.stringify(p)).join('\n'),
    never,
    () => {},
  );
  assert.equal(got.tokens, count);
  assert.ok(Math.abs(got.nll - sum) / sum < 1e-5, `${got.nll} vs ${sum}`);
  await model.dispose();
});

test('--by-line reproduces the golden perplexity reference of stories260K', async () => {
  const golden =
    storiesGolden().perplexity_reference['corpus-tinystories-sample/tinystories-sample.txt'];
  const r = await textgen(['perplexity', '--model', stories, '--by-line', '--json', sample]);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.method, 'by-line');
  assert.equal(out.tokens, golden.predicted_tokens);
  assert.equal(out.lines, golden.lines);
  assert.ok(
    Math.abs(out.mean_nll - golden.mean_nll) / golden.mean_nll < 1e-4,
    String(out.mean_nll),
  );
  assert.ok(
    Math.abs(out.perplexity - golden.ppl) / golden.ppl < 1e-4,
    `perplexity ${out.perplexity} vs ${golden.ppl}`,
  );
  // Against the golden, bits carry the same kernel float noise as nats (5.9e-8 apart on AVX-512):
  // the same relative tolerance. Against this run's own nats, the conversion itself is exact.
  assert.ok(
    Math.abs(out.bits_per_token - golden.mean_nll / Math.LN2) / (golden.mean_nll / Math.LN2) < 1e-4,
    `bits_per_token ${out.bits_per_token} vs ${golden.mean_nll / Math.LN2}`,
  );
  assert.ok(
    Math.abs(out.bits_per_token - out.mean_nll / Math.LN2) <= 1e-12 * out.bits_per_token,
    `bits_per_token ${out.bits_per_token} is not mean_nll / ln 2 = ${out.mean_nll / Math.LN2}`,
  );
});

test('plain output from stdin reports tokens, nats, bits and perplexity of the default sliding window', async () => {
  const text = readFileSync(sample, 'utf8').split('\n').slice(0, 3).join('\n');
  const r = await textgen(['perplexity', '--model', stories, '-'], text);
  assert.equal(r.exitCode, 0, r.stderr);
  const m =
    /tokens scored:\s+(\d+)\ncross-entropy:\s+([\d.]+) nats\/token \(([\d.]+) bits\/token\)\nperplexity:\s+([\d.]+)/.exec(
      r.stdout,
    );
  assert.ok(m, r.stdout);
  assert.match(r.stdout, /method:\s+sliding-window/);
  const json = JSON.parse(
    (await textgen(['perplexity', '--model', stories, '--json', '-'], text)).stdout,
  );
  assert.equal(Number(m[1]), json.tokens);
  assert.equal(json.max_length, 512);
  assert.equal(json.stride, 256);
  assert.ok(
    Math.abs(Number(m[2]) - json.mean_nll) < 1e-6,
    'Math.abs(Number(m[2]) - json.mean_nll) < 1e-6',
  );
  assert.ok(
    Math.abs(Number(m[4]) - Math.exp(json.mean_nll)) < 1e-3,
    'Math.abs(Number(m[4]) - Math.exp(json.mean_nll)) < 1e-3',
  );
  assert.equal(r.stderr, '');
});

test('bad flags and inputs fail with usage (2) and input (7) exit codes', async () => {
  const cases: Array<{ args: string[]; code: number; err: RegExp }> = [
    { args: ['--max-length', '8', '--stride', '9', sample], code: 2, err: /stride 9 is larger/ },
    { args: ['--max-length', '4096', sample], code: 2, err: /exceeds the model's context/ },
    { args: ['--by-line', '--stride', '4', sample], code: 2, err: /--stride does not apply/ },
    { args: [], code: 2, err: /Give one FILE/ },
    { args: [join(models, 'no-such-file.txt')], code: 7, err: /no such file/ },
  ];
  for (const c of cases) {
    const r = await textgen(['perplexity', '--model', stories, ...c.args]);
    assert.equal(r.exitCode, c.code, `${c.args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, c.err);
    assert.equal(r.stdout, '');
  }
});
