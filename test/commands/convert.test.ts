// `textgen convert` end to end (the built binary, a temporary cache): a checkpoint in the cache
// (`org/name`, as `textgen models pull` leaves it) becomes local/NAME that `models list` shows and
// `generate` runs; a folder converts to --output; a bad checkpoint is a one-line error with nothing
// left in the cache; Ctrl-C stops a conversion at once and leaves nothing either; `models pull` of a
// safetensors-only repo (from a hub emulator on 127.0.0.1) fetches what convert needs.
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  fakeCommit,
  fixtureFiles,
  repoRoot,
  sharedModels,
  writeHfSnapshot,
} from '../models-cache/hf-layout.js';
import { writeSafetensors, type RawTensor } from '../generation/convert/helpers.js';
import { resolveModel } from '../../models-cache/resolve.js';
import { serveFixture, startHub } from '../models-cache/hub-server.js';
import { homeEnv, sandbox, textgen as run } from './models-cli.js';
// Every test here uses the fixture checkpoints: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';

const bin = join(repoRoot, 'bin', 'textgen.js');
let home: string;

before(() => {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'convert.js')))
    throw new Error('dist/ is missing: run `npm run build` before these tests');
  home = mkdtempSync(join(tmpdir(), 'textgen-convert-cli-'));
  writeHfSnapshot(
    join(home, 'hub'),
    'karpathy/stories260K-hf',
    fakeCommit('s'),
    fixtureFiles('stories260K-hf'),
  );
});
after(() => rmSync(home, { recursive: true, force: true }));

const env = () => homeEnv(home, { HF_HUB_OFFLINE: '1' });
const textgen = (args: string[]) => run(args, env(), { timeout: 120_000 });

/** Cache entries that are neither the pulled checkpoint nor lock files. */
const leftovers = () =>
  readdirSync(join(home, 'hub')).filter(
    (n) => n !== 'models--karpathy--stories260K-hf' && n !== '.locks',
  );

test('a cached org/name converts to local/NAME (q4), listed and runnable', async () => {
  const r = await textgen(['convert', 'karpathy/stories260K-hf', '--dtype', 'q4']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /Converting a llama model: 260,032 parameters/);
  assert.match(r.stderr, /onnx\/model_q4\.onnx/);
  assert.match(r.stderr, /Wrote local\/stories260K-hf/);
  const list = await textgen(['models', 'list']);
  assert.match(list.stdout, /local\/stories260K-hf\s.*q4/);
  const gen = await textgen([
    'generate',
    '--model',
    'local/stories260K-hf',
    '-n',
    '12',
    '--temperature',
    '0',
    'Once upon a time',
  ]);
  assert.equal(gen.exitCode, 0, gen.stderr);
  assert.match(gen.stdout, /^, there was a little girl/);
  // Converting again needs --force; with it the model is replaced.
  const again = await textgen(['convert', 'karpathy/stories260K-hf', '--dtype', 'q4']);
  assert.equal(again.exitCode, 2);
  assert.match(again.stderr, /already exists/);
  const forced = await textgen([
    'convert',
    'karpathy/stories260K-hf',
    '--name',
    'stories260K-hf',
    '--force',
  ]);
  assert.equal(forced.exitCode, 0, forced.stderr);
  assert.deepEqual(leftovers().sort(), ['models--local--stories260K-hf']);
});

test('a folder converts to --output', async () => {
  const out = join(home, 'gpt2-out');
  const r = await textgen([
    'convert',
    join(sharedModels, 'tiny-random-gpt2-hf'),
    '--output',
    out,
    '--dtype',
    'fp16',
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(
    existsSync(join(out, 'onnx', 'model_fp16.onnx')),
    "existsSync(join(out, 'onnx', 'model_fp16.onnx'))",
  );
  const gen = await textgen([
    'generate',
    '--model',
    out,
    '-n',
    '5',
    '--temperature',
    '0',
    'Hello world',
  ]);
  assert.equal(gen.exitCode, 0, gen.stderr);
});

test('a bad checkpoint is a one-line error and leaves nothing in the cache', async () => {
  const dir = join(home, 'truncated');
  mkdirSync(dir);
  for (const f of readdirSync(join(sharedModels, 'stories260K-hf')))
    copyFileSync(join(sharedModels, 'stories260K-hf', f), join(dir, f));
  truncateSync(join(dir, 'model.safetensors'), 1000);
  const before = leftovers();
  const r = await textgen(['convert', dir, '--name', 'broken']);
  assert.equal(r.exitCode, 3, r.stderr);
  assert.match(
    r.stderr,
    /^textgen: error: model\.safetensors is not a valid safetensors file: truncated[^\n]*\n {2}hint: [^\n]*$/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.deepEqual(leftovers(), before);
  const usage = await textgen(['convert', dir, '--dtype', 'int3']);
  assert.equal(usage.exitCode, 2);
  assert.match(usage.stderr, /--dtype must be one of fp32, fp16, q8, q4/);
});

test('Ctrl-C stops a conversion at once, exit 130, nothing left behind', async () => {
  // A 40M-parameter checkpoint (zeros, bf16): big enough that the conversion is still running.
  const dir = join(home, 'big');
  mkdirSync(dir);
  const [hidden, inter, layers, vocab] = [512, 1376, 8, 32000];
  const zeros = (shape: number[]): RawTensor => ({
    dtype: 'BF16',
    shape,
    bytes: new Uint8Array(shape.reduce((a, b) => a * b, 1) * 2),
  });
  const tensors: Record<string, RawTensor> = {
    'model.embed_tokens.weight': zeros([vocab, hidden]),
  };
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    for (const n of ['input_layernorm', 'post_attention_layernorm'])
      tensors[`${p}${n}.weight`] = zeros([hidden]);
    tensors[`${p}self_attn.q_proj.weight`] = zeros([hidden, hidden]);
    tensors[`${p}self_attn.k_proj.weight`] = zeros([256, hidden]);
    tensors[`${p}self_attn.v_proj.weight`] = zeros([256, hidden]);
    tensors[`${p}self_attn.o_proj.weight`] = zeros([hidden, hidden]);
    tensors[`${p}mlp.gate_proj.weight`] = zeros([inter, hidden]);
    tensors[`${p}mlp.up_proj.weight`] = zeros([inter, hidden]);
    tensors[`${p}mlp.down_proj.weight`] = zeros([hidden, inter]);
  }
  tensors['model.norm.weight'] = zeros([hidden]);
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  for (const f of ['tokenizer.json', 'tokenizer_config.json'])
    copyFileSync(join(sharedModels, 'stories260K-hf', f), join(dir, f));
  const config = {
    model_type: 'llama',
    hidden_size: hidden,
    intermediate_size: inter,
    num_hidden_layers: layers,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    vocab_size: vocab,
    max_position_embeddings: 2048,
    tie_word_embeddings: true,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const before = leftovers();
  const child = execa('node', [bin, 'convert', dir, '--name', 'interrupted', '--dtype', 'q4'], {
    cwd: repoRoot,
    env: env(),
    extendEnv: false,
    reject: false,
    timeout: 120_000,
  });
  let sent = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    if (!sent && /Converting a llama model/.test(chunk.toString())) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const r = await child;
  assert.ok(sent, r.stderr);
  assert.equal(r.exitCode, 130, r.stderr);
  assert.match(r.stderr, /Interrupted; nothing was written/);
  assert.doesNotMatch(r.stderr, /Wrote /);
  assert.deepEqual(leftovers(), before);
});

test('`textgen models pull` fetches a safetensors-only repo (index + shards), then convert runs it', async () => {
  const hub = await startHub([
    serveFixture('org/stories-bf16', join(sharedModels, 'stories260K-hf-bf16-sharded')),
  ]);
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  try {
    const pulled = await run(['models', 'pull', 'org/stories-bf16'], box.env);
    assert.equal(pulled.exitCode, 0, String(pulled.stderr));
    assert.match(
      String(pulled.stderr),
      /a safetensors checkpoint: convert it with `textgen convert org\/stories-bf16/,
    );
    const snap = resolveModel('org/stories-bf16', { env: box.env }).dir;
    for (const f of [
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ])
      assert.ok(existsSync(join(snap, f)), f);
    const converted = await run(['convert', 'org/stories-bf16', '--dtype', 'q8'], box.env);
    assert.equal(converted.exitCode, 0, String(converted.stderr));
    const gen = await run(
      [
        'generate',
        '--model',
        'local/stories-bf16',
        '-n',
        '8',
        '--temperature',
        '0',
        'Once upon a time',
      ],
      box.env,
    );
    assert.equal(gen.exitCode, 0, String(gen.stderr));
    assert.match(String(gen.stdout), /^, there was a little/);
  } finally {
    box.cleanup();
    await hub.close();
  }
});
