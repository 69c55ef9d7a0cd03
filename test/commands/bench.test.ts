// textgen bench: the llama-bench style table and JSON on the embedded default model (tiny sizes so
// the test stays fast), the test plan and statistics as pure functions, and flag errors.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import {
  planTests,
  positionsNeeded,
  randomIds,
  spread,
  testName,
} from '../../commands/bench-run.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
// The embedded model: in every clone, so these run without the shared fixtures.
const model = resolve(repoRoot, 'models', 'default');
const bin = join(repoRoot, 'bin', 'textgen.js');

function textgen(args: string[]) {
  return execa('node', [bin, ...args], {
    cwd: repoRoot,
    reject: false,
    timeout: 60_000,
    env: { TEXTGEN_CONFIG_DIR: join(repoRoot, 'node_modules', '.textgen-test-none') },
  });
}

before(() => {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'bench.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
});

test('planTests lists pp then tg per depth, skipping 0 sizes, with llama-bench names', () => {
  const tests = planTests([16, 0], [8], [0, 32]);
  assert.deepEqual(tests.map(testName), ['pp16', 'tg8', 'pp16 @ d32', 'tg8 @ d32']);
  assert.deepEqual(tests.map(positionsNeeded), [17, 10, 49, 41]);
});

test('spread is mean ± sample standard deviation', () => {
  const cases: Array<[number[], number, number]> = [
    [[2, 4, 4, 4, 5, 5, 7, 9], 5, Math.sqrt(32 / 7)],
    [[3], 3, 0],
    [[1, 3], 2, Math.sqrt(2)],
  ];
  for (const [values, mean, sd] of cases) {
    const s = spread(values);
    assert.ok(
      Math.abs(s.mean - mean) < 1e-12 && Math.abs(s.sd - sd) < 1e-12,
      JSON.stringify(values),
    );
  }
});

test('randomIds is deterministic per seed and stays in range', () => {
  const a = randomIds(200, 3, 512, 7);
  assert.deepEqual(a, randomIds(200, 3, 512, 7));
  assert.notDeepEqual(a, randomIds(200, 3, 512, 8));
  assert.ok(
    a.every((x) => Number.isInteger(x) && x >= 3 && x < 512),
    'a.every((x) => Number.isInteger(x) && x >= 3 && x < 512)',
  );
  assert.ok(new Set(a).size > 100, 'new Set(a).size > 100');
});

test('the markdown table has one row per test with mean ± sd, threads and device', async () => {
  const r = await textgen([
    'bench',
    '--model',
    model,
    '-p',
    '8',
    '-n',
    '4',
    '-d',
    '0,16',
    '-r',
    '2',
    '-t',
    '1',
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(
    lines[0],
    /^\| model \| size \| dtype \| backend \| threads \| test \| t\/s \| ttft ms \|$/,
  );
  const rows = lines
    .filter((l) => /^\| default /.test(l))
    .map((l) => l.split('|').map((c) => c.trim()));
  assert.deepEqual(
    rows.map((c) => c[6]),
    ['pp8', 'tg4', 'pp8 @ d16', 'tg4 @ d16'],
  );
  for (const c of rows) {
    assert.equal(c[4], 'CPU');
    assert.equal(c[5], '1');
    const m = /^([\d.]+) ± ([\d.]+)$/.exec(c[7]);
    assert.ok(m && Number(m[1]) > 0, c[7]);
  }
  assert.match(r.stdout, /device cpu, 1 intra-op thread\(s\), peak RSS [\d.]+ (KiB|MiB|GiB)/);
});

test('--json reports every repetition and the figures the table shows', async () => {
  const r = await textgen([
    'bench',
    '--model',
    model,
    '-p',
    '8',
    '-n',
    '4',
    '-r',
    '3',
    '--json',
    '--no-warmup',
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.device, 'cpu');
  assert.ok(out.threads >= 1, 'out.threads >= 1');
  assert.ok(out.peak_rss_bytes > 10 * 1024 * 1024, 'out.peak_rss_bytes > 10 * 1024 * 1024');
  // The runtime runs textgen's fused graph when the folder has one (the default model does).
  const fused = join(model, 'onnx', 'textgen_decoder.onnx');
  const ran = existsSync(fused) ? fused : join(model, 'onnx', 'model.onnx');
  assert.equal(out.model_bytes, statSync(ran).size);
  assert.deepEqual(
    out.results.map((x: { test: string }) => x.test),
    ['pp8', 'tg4'],
  );
  for (const x of out.results) {
    assert.equal(x.samples.length, 3);
    assert.ok(
      Math.abs(x.tokens_per_second.mean - spread(x.samples).mean) < 1e-9,
      'Math.abs(x.tokens_per_second.mean - spread(x.samples).mean) < 1e-9',
    );
    assert.ok(x.ttft_ms.mean > 0, 'x.ttft_ms.mean > 0');
  }
});

test('tests that do not fit the context and malformed lists are usage errors', async () => {
  for (const args of [
    ['-p', '600'],
    ['-n', '4', '-d', '510'],
    ['-p', 'abc'],
    ['-p', '0', '-n', '0'],
  ]) {
    const r = await textgen(['bench', '--model', model, ...args]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
});
