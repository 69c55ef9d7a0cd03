// End-to-end: `textgen models list|show|rm` (the built binary) on a cache laid out by hand exactly as
// huggingface_hub writes it: blobs named by sha256 / git sha1, relative symlinks, refs/main.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  fakeCommit,
  fixtureFiles,
  repoRoot,
  sha256,
  writeHfSnapshot,
} from '../models-cache/hf-layout.js';
import { execa } from 'execa';
import { assertBuilt, sandbox, textgen, type Sandbox } from './models-cli.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';

const storiesA = fakeCommit('stories-a');
const storiesB = fakeCommit('stories-b');
let box: Sandbox;

function buildCache(cache: string): void {
  const stories = fixtureFiles('stories260K-onnx');
  writeHfSnapshot(cache, 'org/stories', storiesA, stories, []);
  // A second revision that shares every file but a changed generation_config.json.
  writeHfSnapshot(
    cache,
    'org/stories',
    storiesB,
    { ...stories, 'generation_config.json': '{"max_length": 64}' },
    ['main'],
  );
  writeHfSnapshot(cache, 'org/t5', fakeCommit('t5'), fixtureFiles('tiny-random-t5'));
  writeHfSnapshot(cache, 'org/keep', fakeCommit('keep'), { 'config.json': '{}' });
  writeHfSnapshot(cache, 'org/drop', fakeCommit('drop'), { 'config.json': '{}' });
  writeHfSnapshot(cache, 'org/pytorch-only', fakeCommit('pt'), {
    'config.json': '{"model_type":"bert"}',
    'pytorch_model.bin': Buffer.alloc(64, 1),
    'tokenizer.json': '{}',
  });
  const broken = writeHfSnapshot(cache, 'org/broken', fakeCommit('broken'), stories);
  rmSync(join(broken, '..', '..', 'blobs', sha256(stories['onnx/model.onnx'])));
}

before(() => {
  assertBuilt();
  box = sandbox();
  buildCache(box.cache);
});
after(() => box?.cleanup());

test('models list shows usable models, lists unusable ones apart and warns about damaged ones', async () => {
  const r = await textgen(['models', 'list'], box.env);
  assert.equal(r.exitCode, 0, String(r.stderr));
  const out = String(r.stdout);
  const [usable, unusable] = out.split('Not usable by textgen:');
  assert.match(usable, /^ID\s+REVISION\s+SIZE\s+ARCHITECTURE\s+TASK\s+DTYPES\s+CONTEXT$/m);
  assert.match(
    usable,
    new RegExp(
      `^org/stories\\s+main \\(${storiesB.slice(0, 7)}\\)\\s+1\\.05 MiB\\s+LlamaForCausalLM\\s+text-generation\\s+fp32\\s+512$`,
      'm',
    ),
  );
  assert.match(usable, new RegExp(`^org/stories\\s+${storiesA.slice(0, 7)}\\s`, 'm'));
  assert.match(
    usable,
    /^org\/t5\s+main \(\w+\)\s+[\d.]+ (KiB|MiB)\s+T5ForConditionalGeneration\s+text2text-generation\s+fp32\s+512$/m,
  );
  assert.match(unusable, /org\/pytorch-only\s+main \(\w+\)\s+.*no ONNX weights/);
  assert.doesNotMatch(out, /org\/broken/);
  assert.match(
    String(r.stderr),
    /warning: org\/broken@\w+ is damaged: missing blob for onnx\/model\.onnx/,
  );
  const ls = await textgen(['models', 'ls', '--json'], box.env);
  const models = JSON.parse(String(ls.stdout)).models as Array<{
    id: string;
    problem?: string;
    damaged?: boolean;
    dtypes: string[];
    refs: string[];
  }>;
  assert.deepEqual(
    models.map((m) => m.id).filter((id) => !/keep|drop/.test(id)),
    ['org/broken', 'org/pytorch-only', 'org/stories', 'org/stories', 'org/t5'],
  );
  assert.equal(models[0].damaged, true);
  assert.deepEqual(models.find((m) => m.refs.includes('main') && m.id === 'org/stories')!.dtypes, [
    'fp32',
  ]);
});

test('models show prints the config summary, files, dtypes, chat template and generation defaults', async () => {
  const r = await textgen(['models', 'show', 'org/stories'], box.env);
  assert.equal(r.exitCode, 0, String(r.stderr));
  const out = String(r.stdout);
  assert.match(out, new RegExp(`^org/stories \\(${storiesB}\\)$`, 'm'));
  assert.match(out, /context length: 512/);
  assert.match(out, /chat template: no/);
  assert.match(out, /^ {2}layers: 5$/m);
  assert.match(out, /^ {2}fp32\s+1\.03 MiB\s+onnx\/model\.onnx$/m);
  assert.match(out, /^ {2}max_length: 64$/m);
  assert.match(out, /^ {2}onnx\/model\.onnx\s+1\.03 MiB$/m);
  const json = JSON.parse(
    String(
      (await textgen(['models', 'show', `org/stories@${storiesA.slice(0, 8)}`, '--json'], box.env))
        .stdout,
    ),
  );
  assert.equal(json.revision, storiesA);
  assert.equal(json.generation_defaults.max_length, 512);
  assert.equal(json.dtypes.fp32.size_bytes, 1082992);
  assert.equal(json.task, 'text-generation');
  const t5 = JSON.parse(
    String((await textgen(['models', 'show', 'org/t5', '--json'], box.env)).stdout),
  );
  assert.equal(t5.task, 'text2text-generation');
  assert.deepEqual(t5.dtypes.fp32.files, [
    'onnx/encoder_model.onnx',
    'onnx/decoder_model_merged.onnx',
    'onnx/decoder_model.onnx',
    'onnx/decoder_with_past_model.onnx',
  ]);
  const missing = await textgen(['models', 'show', 'org/absent@v2'], box.env);
  assert.equal(missing.exitCode, 4);
  assert.match(
    String(missing.stderr),
    /hint: Download it with `textgen models pull org\/absent@v2`/,
  );
});

test('models rm needs --yes without a terminal, then removes one snapshot and only its own blobs', async () => {
  const repo = join(box.cache, 'models--org--stories');
  const refused = await textgen(['models', 'rm', 'org/stories'], box.env);
  assert.equal(refused.exitCode, 2);
  assert.match(String(refused.stderr), /--yes/);
  const blobsBefore = readdirSync(join(repo, 'blobs')).length;
  const r = await textgen(['models', 'rm', 'org/stories', '--yes'], box.env);
  assert.equal(r.exitCode, 0, String(r.stderr));
  assert.deepEqual(readdirSync(join(repo, 'snapshots')), [storiesA]);
  assert.equal(
    readdirSync(join(repo, 'blobs')).length,
    blobsBefore - 1,
    'only the changed generation_config.json blob is freed',
  );
  assert.equal(existsSync(join(repo, 'refs', 'main')), false);
  const show = await textgen(['models', 'show', `org/stories@${storiesA}`, '--json'], box.env);
  assert.equal(show.exitCode, 0, 'the other snapshot still loads');
  const last = await textgen(['models', 'rm', `org/stories@${storiesA}`, '--yes'], box.env);
  assert.equal(last.exitCode, 0, String(last.stderr));
  assert.equal(existsSync(repo), false);
  assert.equal((await textgen(['models', 'rm', 'org/stories', '--yes'], box.env)).exitCode, 4);
});

// util-linux `script` gives the CLI a real terminal on stdin, so the confirmation prompt is exercised.
const hasScript = process.platform === 'linux' && existsSync('/usr/bin/script');

test(
  'models rm asks in a terminal and only removes on yes',
  { skip: !hasScript && 'needs util-linux script for a pty' },
  async () => {
    const rm = (id: string, answer: string) =>
      execa('script', ['-qec', `node bin/textgen.js models rm ${id}`, '/dev/null'], {
        cwd: repoRoot,
        env: box.env,
        extendEnv: false,
        input: answer,
        reject: false,
        timeout: 30_000,
      });
    const no = await rm('org/keep', 'n\n');
    assert.match(String(no.stdout), /Remove org\/keep main \(\w+\) and free 2 B\? \[y\/N\]/);
    assert.match(String(no.stdout), /Nothing removed/);
    assert.equal(existsSync(join(box.cache, 'models--org--keep')), true);
    const yes = await rm('org/drop', 'y\n');
    assert.equal(yes.exitCode, 0, String(yes.stdout));
    assert.match(String(yes.stdout), /Removed org\/drop/);
    assert.equal(existsSync(join(box.cache, 'models--org--drop')), false);
  },
);
