// `textgen quantize` end to end (spawns bin/textgen.js): the variant and quantize_report.json are
// written beside the source, `models show` marks the variant, and bad input — no quantizable
// weights, an already quantized model, truncated external data, a read-only folder, an existing
// variant textgen did not write — is one error line with nothing left behind.
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result } from 'execa';
import { fixture, linkFolder, repoRoot, type TempFolder } from '../generation/fixtures.js';
import {
  graph,
  init,
  input,
  node,
  output,
  T,
  values,
  writeModel,
} from '../generation/quantize/onnx-build.js';
// Every test here quantizes the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';

const BIN = join(repoRoot, 'bin', 'textgen.js');
const STORIES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];
let home: string;
const folders: TempFolder[] = [];

before(() => {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'quantize.js')))
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests');
  home = mkdtempSync(join(tmpdir(), 'textgen-quantize-e2e-'));
  chmodSync(home, 0o777);
});
after(() => {
  for (const f of folders) f.cleanup();
  rmSync(home, { recursive: true, force: true });
});

/** A stories260K folder whose onnx/model.onnx is `model` (default: the fixture's). */
function storiesFolder(model = fixture('stories260K-onnx', 'onnx', 'model.onnx')): string {
  const f = linkFolder({
    ...Object.fromEntries(STORIES.map((n) => [n, fixture('stories260K-onnx', n)])),
    'onnx/model.onnx': model,
  });
  folders.push(f);
  return f.dir;
}

function textgen(args: string[], uid?: number): Promise<Result> {
  return execa('node', [BIN, ...args], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      HF_HUB_CACHE: join(home, 'hub'),
    },
    extendEnv: false,
    reject: false,
    timeout: 120_000,
    ...(uid === undefined ? {} : { uid, gid: uid }),
  }) as Promise<Result>;
}

function assertOneLineError(result: Result, code: number, message: RegExp): void {
  const stderr = String(result.stderr);
  assert.equal(result.exitCode, code, `exit code (stderr: ${stderr})`);
  const lines = stderr.replace(/\n$/, '').split('\n');
  assert.ok(lines.length <= 2, `one error line plus an optional hint, got:\n${stderr}`);
  assert.match(lines[0], /^textgen: error: /);
  assert.match(lines[0], message);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}

/** The file names under the folder (recursively), to show nothing was added. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

test('quantize writes the variant and the report; models show marks it', async () => {
  const dir = storiesFolder();
  const result = await textgen(['quantize', dir, '--dtype', 'q8']);
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.match(
    String(result.stderr),
    /^Quantizing to q8: onnx\/model\.onnx → onnx\/model_quantized\.onnx/,
  );
  assert.match(String(result.stdout), /^dtype: +q8 \(head q8, block 32\)$/m);
  assert.match(String(result.stdout), /^I\/O: +unchanged$/m);
  assert.match(
    String(result.stdout),
    /^decode: +[\d.]+ ms\/step vs [\d.]+ ms fp32 at context 128/m,
  );
  const report = JSON.parse(readFileSync(join(dir, 'quantize_report.json'), 'utf8'));
  const record = report.variants.q8;
  assert.equal(record.files[0].file, 'onnx/model_quantized.onnx');
  assert.equal(record.files[0].weights.length, 36);
  assert.ok(
    record.files[0].weights.every((w: { relError: number[] }) => w.relError[0] < 0.01),
    'record.files[0].weights.every((w: { relError: number[] }) => w.relError[0] < 0.01)',
  );
  assert.deepEqual(record.check.signatureDiff, []);
  assert.equal(record.check.timed.sourceMs.length, 5);
  assert.deepEqual(
    listing(dir).filter((n) => n.includes('.tmp')),
    [],
  );
  const show = await textgen(['models', 'show', dir]);
  assert.match(
    String(show.stdout),
    /^ {2}q8 +[\d.]+ KiB +onnx\/model_quantized\.onnx +\(made by textgen quantize\)$/m,
  );
  const json = await textgen(['models', 'show', dir, '--json']);
  assert.equal(JSON.parse(String(json.stdout)).dtypes.q8.textgen_quantized, true);
  // Running it again replaces textgen's own variant.
  const again = await textgen(['quantize', dir, '--dtype', 'q8', '--no-check', '--json']);
  assert.equal(again.exitCode, 0, String(again.stderr));
  assert.equal(JSON.parse(String(again.stdout)).dtype, 'q8');
});

test('a model with no quantizable weights: one line, nothing written', async () => {
  const g = graph();
  input(g, 'input_ids', T.int64, ['batch', 'seq']);
  init(g, 'table', [512, 4], values(2048, 1));
  node(g, 'Gather', ['table', 'input_ids'], ['logits']);
  output(g, 'logits', T.float, ['batch', 'seq', 4]);
  const scratch = mkdtempSync(join(tmpdir(), 'textgen-quantize-none-'));
  writeModel(join(scratch, 'model.onnx'), g);
  const dir = storiesFolder(join(scratch, 'model.onnx'));
  const before = listing(dir);
  const result = await textgen(['quantize', dir]);
  assertOneLineError(result, 3, /has no weights to quantize/);
  assert.deepEqual(listing(dir), before);
  rmSync(scratch, { recursive: true, force: true });
});

test('an already quantized model: one line, nothing written', async () => {
  const first = storiesFolder();
  assert.equal((await textgen(['quantize', first, '--no-check'])).exitCode, 0);
  const dir = storiesFolder(join(first, 'onnx', 'model_q4.onnx'));
  const before = listing(dir);
  assertOneLineError(await textgen(['quantize', dir, '--dtype', 'q8']), 3, /already quantized/);
  assert.deepEqual(listing(dir), before);
});

test('truncated external data: one line, nothing written', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'textgen-quantize-ext-'));
  const g = graph();
  input(g, 'x', T.float, ['batch', 64]);
  const w = values(64 * 64, 3);
  writeFileSync(join(scratch, 'model.onnx_data'), Buffer.from(w.buffer).subarray(0, 1000));
  const { externalInit } = await import('../generation/quantize/onnx-build.js');
  externalInit(g, 'W', [64, 64], 'model.onnx_data', 0, w.byteLength);
  node(g, 'MatMul', ['x', 'W'], ['logits']);
  output(g, 'logits', T.float, ['batch', 64]);
  writeModel(join(scratch, 'model.onnx'), g);
  const dir = storiesFolder(join(scratch, 'model.onnx'));
  copyFileSync(join(scratch, 'model.onnx_data'), join(dir, 'onnx', 'model.onnx_data'));
  const before = listing(dir);
  assertOneLineError(await textgen(['quantize', dir]), 3, /truncated/);
  assert.deepEqual(listing(dir), before);
  rmSync(scratch, { recursive: true, force: true });
});

test('a read-only folder: one line, nothing written', async () => {
  const dir = storiesFolder();
  // Root ignores permission bits, so as root the CLI runs as nobody on a folder it cannot write.
  const asRoot = process.getuid?.() === 0;
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'onnx'), asRoot ? 0o755 : 0o555);
  const before = listing(dir);
  const result = await textgen(['quantize', dir], asRoot ? 65534 : undefined);
  chmodSync(join(dir, 'onnx'), 0o755);
  assertOneLineError(result, 3, /read-only/);
  assert.deepEqual(listing(dir), before);
});

test('an existing variant textgen did not write needs --force', async () => {
  const dir = storiesFolder();
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  copyFileSync(
    fixture('stories260K-onnx', 'onnx', 'model.onnx'),
    join(dir, 'onnx', 'model_int8.onnx'),
  );
  assertOneLineError(await textgen(['quantize', dir, '--dtype', 'int8']), 2, /already exists/);
  const forced = await textgen(['quantize', dir, '--dtype', 'int8', '--force', '--no-check']);
  assert.equal(forced.exitCode, 0, String(forced.stderr));
});

test('flags are checked before any work', async () => {
  const dir = storiesFolder();
  assertOneLineError(
    await textgen(['quantize', dir, '--dtype', 'q3']),
    2,
    /--dtype must be one of q4, q8, int8/,
  );
  assertOneLineError(await textgen(['quantize', dir, '--block-size', '24']), 2, /power of two/);
  assertOneLineError(await textgen(['quantize', dir, '--head', 'q2']), 2, /--head must be one of/);
  assertOneLineError(await textgen(['quantize']), 2, /Give one model/);
});
