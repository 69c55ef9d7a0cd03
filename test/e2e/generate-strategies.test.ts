// `textgen generate` end to end (the built binary, real stories260K): batched JSONL against one prompt
// at a time, beam scores in --json, seeded sampling, the sampling filters' allowed sets computed from
// raw onnxruntime logits, stop strings on stdout, --logprobs, flag-parsed processors and usage errors.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadModel, type TextGenerator } from '../../generation/index.js';
import {
  argmax,
  ENDING,
  LogitsOracle,
  logSoftmax,
  minPSet,
  repoRoot,
  storiesDir,
  topKSet,
  topPSet,
} from '../generation/decode/ort-oracle.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';

const bin = join(repoRoot, 'bin', 'textgen.js');
let home: string;
let oracle: LogitsOracle;
/** In-process only to tokenize prompts for the oracle (BOS included). */
let tokenizer: TextGenerator;

before(async () => {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'generate.js')))
    throw new Error('dist/ is missing: run `npm run build` before these tests');
  home = mkdtempSync(join(tmpdir(), 'textgen-strategies-'));
  oracle = await LogitsOracle.open();
  tokenizer = await loadModel(storiesDir, { inProcess: true, threads: 1 });
});
after(async () => {
  rmSync(home, { recursive: true, force: true });
  await oracle.release();
  await tokenizer.dispose();
});

interface Out {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `textgen generate --model stories260K ...args` in a sandboxed home; never rejects. */
async function generate(args: string[], input = ''): Promise<Out> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    TEXTGEN_CONFIG_DIR: join(home, 'config'),
    TEXTGEN_DATA_DIR: join(home, 'data'),
    HF_HUB_CACHE: join(home, 'hub'),
  };
  const r = await execa(
    'node',
    [bin, 'generate', '--model', storiesDir, '--threads', '1', ...args],
    { cwd: repoRoot, env, extendEnv: false, reject: false, input, timeout: 60_000 },
  );
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

interface JsonSequence {
  text: string;
  token_ids: number[];
  finish_reason: string;
  score?: number;
  logprobs?: Array<{
    token_id: number;
    logprob: number;
    top: Array<{ token_id: number; logprob: number }>;
  }>;
}

async function json(args: string[]): Promise<JsonSequence[]> {
  const out = await generate(['--json', ...args]);
  assert.equal(out.exitCode, 0, out.stderr);
  return JSON.parse(out.stdout).sequences;
}

const PROMPTS = [
  '',
  'Sam',
  'The dog',
  'Mom said no',
  'Once upon a time',
  'One day, a little bird',
  'The sun was hot and the cat was',
  'Lily and Tom went to the park to play with a big red ball',
];

test('--jsonl --batch-size 8 gives the same greedy results as one prompt per run', async () => {
  const input = PROMPTS.map((prompt) => JSON.stringify({ prompt })).join('\n');
  const run = async (size: string) => {
    const out = await generate(
      ['--jsonl', '--batch-size', size, '--temperature', '0', '-n', '32'],
      input,
    );
    assert.equal(out.exitCode, 0, out.stderr);
    return out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  };
  const batched = await run('8');
  const single = await run('1');
  assert.equal(batched.length, PROMPTS.length);
  assert.deepEqual(batched, single);
  const plain = await json(['--temperature', '0', '-n', '32', PROMPTS[7]]);
  assert.deepEqual(batched[7].sequences, plain);
});

test('beam search: --num-return-sequences beams sorted by score, score in --json', async () => {
  for (const beams of [2, 3, 4]) {
    const sequences = await json([
      '--num-beams',
      String(beams),
      '--num-return-sequences',
      String(beams),
      '-n',
      '10',
      'Lily and',
    ]);
    assert.equal(sequences.length, beams);
    const scores = sequences.map((s) => s.score);
    assert.ok(
      scores.every((x) => typeof x === 'number' && x < 0),
      JSON.stringify(scores),
    );
    assert.deepEqual(
      scores,
      [...(scores as number[])].sort((a, b) => b - a),
    );
  }
  const oneBeam = await json(['--num-beams', '1', '--greedy', '-n', '10', 'Lily and']);
  const greedy = await json(['--temperature', '0', '-n', '10', 'Lily and']);
  assert.deepEqual(oneBeam, greedy);
  assert.equal(greedy[0].score, undefined);
});

test('--seed makes sampling reproducible; another seed differs', async () => {
  const args = ['--temperature', '1', '-n', '30', 'Lily and'];
  const a = await generate([...args, '--seed', '77']);
  const b = await generate([...args, '--seed', '77']);
  const c = await generate([...args, '--seed', '78']);
  assert.equal(a.exitCode, 0, a.stderr);
  assert.equal(b.stdout, a.stdout);
  assert.notEqual(c.stdout, a.stdout);
});

test('sampled first tokens under --top-k 5 / --top-p 0.9 / --min-p 0.1 stay in the allowed set', async () => {
  const prompt = 'Lily and';
  const row = await oracle.next(await tokenizer.tokenize(prompt));
  const cases: Array<[string[], Set<number>]> = [
    [['--top-k', '5'], topKSet(row, 5)],
    [['--top-p', '0.9'], topPSet(row, 0.9)],
    [['--min-p', '0.1'], minPSet(row, 0.1)],
    // Warpers compose in transformers' order: temperature, then top-k, then top-p on what is left.
    [
      ['--temperature', '0.7', '--top-k', '6', '--top-p', '0.8'],
      topPSet(
        keepOnly(
          row.map((x) => x / 0.7),
          topKSet(row, 6),
        ),
        0.8,
      ),
    ],
  ];
  for (const [flags, allowed] of cases) {
    assert.ok(allowed.size > 1 && allowed.size < 20, `${flags}: allowed set of ${allowed.size}`);
    const sequences = await json([
      '--temperature',
      '1',
      ...flags,
      '--seed',
      '3',
      '--num-return-sequences',
      '200',
      '-n',
      '1',
      prompt,
    ]);
    assert.equal(sequences.length, 200);
    const first = sequences.map((s) => s.token_ids[0]);
    const outside = first.filter((id) => !allowed.has(id));
    assert.deepEqual(outside, [], `${flags}: tokens outside {${[...allowed]}}`);
    assert.ok(new Set(first).size > 1, `${flags}: only one distinct token sampled`);
  }
});

/** The row with every token outside `ids` filtered (−Infinity), as a warper leaves it. */
function keepOnly(row: Float32Array, ids: Set<number>): Float32Array {
  return row.map((x, i) => (ids.has(i) ? x : Number.NEGATIVE_INFINITY));
}

test('a stop string spanning tokens never reaches stdout, streamed or in --json', async () => {
  const prompt = 'Once upon a time';
  const free = await generate(['--temperature', '0', '-n', '30', prompt]);
  assert.match(free.stdout, /girl/);
  const cut = free.stdout.slice(0, free.stdout.indexOf('girl'));
  const streamed = await generate(['--temperature', '0', '-n', '30', '--stop', 'girl', prompt]);
  assert.equal(streamed.exitCode, 0, streamed.stderr);
  assert.equal(streamed.stdout, cut);
  const [s] = await json([
    '--temperature',
    '0',
    '-n',
    '30',
    '--stop',
    'girl',
    '--stop',
    'never-there',
    prompt,
  ]);
  assert.equal(s.text, cut);
  assert.equal(s.finish_reason, 'stop');
  const sampled = await json([
    '--temperature',
    '1',
    '--seed',
    '11',
    '-n',
    '40',
    '--num-return-sequences',
    '8',
    '--stop',
    'the',
    prompt,
  ]);
  for (const seq of sampled) assert.ok(!seq.text.includes('the'), seq.text);
  assert.ok(
    sampled.some((seq) => seq.finish_reason === 'stop'),
    "sampled.some((seq) => seq.finish_reason === 'stop')",
  );
});

test('invalid combinations fail with one clear error line and exit code 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--top-p', '1.5'], /top-p must be a number in \(0, 1\]/],
    [
      ['--num-beams', '2', '--num-return-sequences', '3'],
      /num-return-sequences \(3\) must be <= num-beams \(2\)/,
    ],
    [['--temperature', '-1'], /temperature must be a number >= 0, got '-1'/],
    [['--temperature=-0.5'], /temperature must be a number >= 0, got '-0.5'/],
    [['--logprobs', '21', '--json'], /logprobs must be an integer in 0\.\.20/],
    [['--logprobs', '3'], /--logprobs needs --json/],
    [
      ['--num-beams', '2', '--logprobs', '3', '--json'],
      /logprobs are not reported with beam search/,
    ],
  ];
  for (const [args, message] of cases) {
    const out = await generate([...args, '-n', '2', 'Hi']);
    assert.equal(out.exitCode, 2, `${args}: ${out.stderr}`);
    assert.equal(out.stdout, '');
    const errors = out.stderr.split('\n').filter((l) => l.startsWith('textgen: error:'));
    assert.equal(errors.length, 1, out.stderr);
    assert.match(errors[0], message);
    assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');
  }
  const negative = await generate([
    '--temperature',
    '0',
    '--presence-penalty',
    '-0.5',
    '-n',
    '4',
    'Hi',
  ]);
  assert.equal(negative.exitCode, 0, negative.stderr);
});

test('--logprobs: greedy token is top[0]; --top-k 3 leaves 3 alternatives summing to 1; T=0.5 matches raw logits', async () => {
  const prompt = 'Once upon a time';
  const [g] = await json(['--temperature', '0', '--logprobs', '5', '-n', '12', prompt]);
  assert.equal(g.logprobs!.length, g.token_ids.length);
  for (const lp of g.logprobs!) {
    assert.equal(lp.top.length, 5);
    assert.equal(lp.top[0].token_id, lp.token_id);
    assert.equal(lp.top[0].logprob, lp.logprob);
  }
  const [k] = await json([
    '--top-k',
    '3',
    '--temperature',
    '1',
    '--seed',
    '2',
    '--logprobs',
    '5',
    '-n',
    '12',
    prompt,
  ]);
  for (const lp of k.logprobs!) {
    assert.equal(lp.top.length, 3);
    assert.ok(
      Math.abs(lp.top.reduce((a, x) => a + Math.exp(x.logprob), 0) - 1) < 1e-6,
      'Math.abs(lp.top.reduce((a, x) => a + Math.exp(x.logprob), 0) - 1) < 1e-6',
    );
  }
  const [t] = await json([
    '--temperature',
    '0.5',
    '--seed',
    '4',
    '--logprobs',
    '2',
    '-n',
    '12',
    prompt,
  ]);
  const rows = await oracle.teacherForced(await tokenizer.tokenize(prompt), t.token_ids);
  t.logprobs!.forEach((lp, i) => {
    const expected = logSoftmax(rows[i].map((x) => x / 0.5));
    assert.ok(Math.abs(lp.logprob - expected[lp.token_id]) < 1e-4, `step ${i}`);
  });
  const jsonl = await generate(
    ['--jsonl', '--logprobs', '2', '--temperature', '0', '-n', '3'],
    '{"prompt": "Sam"}\n',
  );
  assert.equal(JSON.parse(jsonl.stdout).sequences[0].logprobs.length, 3);
});

test('--suppress-tokens and a multi-token --bad-words-ids never appear in the output', async () => {
  const prompt = 'Once upon a time';
  const [plain] = await json(['--temperature', '0', '-n', '40', prompt]);
  const suppress = [plain.token_ids[1], plain.token_ids[4]];
  const [s] = await json([
    '--temperature',
    '0',
    '-n',
    '40',
    '--suppress-tokens',
    suppress.join(','),
    prompt,
  ]);
  assert.ok(
    s.token_ids.every((id) => !suppress.includes(id)),
    's.token_ids.every((id) => !suppress.includes(id))',
  );
  const bad = plain.token_ids.slice(8, 10);
  const [b] = await json([
    '--temperature',
    '0',
    '-n',
    '40',
    '--bad-words-ids',
    bad.join(','),
    prompt,
  ]);
  assert.notDeepEqual(b.token_ids, plain.token_ids);
  const all = [...(await tokenizer.tokenize(prompt)), ...b.token_ids];
  const promptLength = all.length - b.token_ids.length;
  assert.ok(
    all.every((id, i) => i < promptLength || all[i - 1] !== bad[0] || id !== bad[1]),
    `[${bad}] was generated`,
  );
});

test('--repetition-penalty, --no-repeat-ngram-size and --min-new-tokens change greedy output as Hugging Face does', async () => {
  const prompt = 'Once upon a time';
  const [plain] = await json(['--temperature', '0', '-n', '60', prompt]);
  const [penalised] = await json([
    '--temperature',
    '0',
    '-n',
    '60',
    '--repetition-penalty',
    '1.3',
    prompt,
  ]);
  assert.notDeepEqual(penalised.token_ids, plain.token_ids);
  // The same ids from Hugging Face's RepetitionPenaltyLogitsProcessor applied here to raw
  // onnxruntime logits: every id of prompt + output so far, logit < 0 → × 1.3, else ÷ 1.3.
  const ids = await tokenizer.tokenize(prompt);
  const expected: number[] = [];
  while (expected.length < 60) {
    const row = await oracle.next([...ids, ...expected]);
    for (const id of new Set([...ids, ...expected]))
      row[id] = row[id] < 0 ? row[id] * 1.3 : row[id] / 1.3;
    expected.push(argmax(row));
    if ([1, 2].includes(expected.at(-1)!)) break;
  }
  assert.deepEqual(penalised.token_ids, expected);
  const [noRepeat] = await json([
    '--temperature',
    '0',
    '-n',
    '60',
    '--no-repeat-ngram-size',
    '2',
    prompt,
  ]);
  const all = [...(await tokenizer.tokenize(prompt)), ...noRepeat.token_ids];
  const bigrams = all.slice(1).map((x, i) => `${all[i]},${x}`);
  assert.equal(new Set(bigrams).size, bigrams.length);
  const [early] = await json(['--temperature', '0', '-n', '120', ENDING]);
  assert.equal(early.finish_reason, 'eos');
  assert.ok(early.token_ids.length < 50, 'early.token_ids.length < 50');
  const [held] = await json(['--temperature', '0', '-n', '120', '--min-new-tokens', '50', ENDING]);
  assert.ok(held.token_ids.length >= 50, `${held.token_ids.length} tokens`);
});
