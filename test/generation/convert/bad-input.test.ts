// Bad checkpoints: each is refused with a one-line typed error before anything is written, and no
// output folder or temporary folder is left behind.
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextgenError } from '../../../generation/errors.js';
import { convertCheckpoint, type ConvertOptions } from '../../../generation/convert/convert.js';
import { SafetensorsFile } from '../../../generation/convert/safetensors.js';
import { fixture } from '../fixtures.js';
import { writeSafetensors, type RawTensor } from './helpers.js';
// Every test here uses the fixture checkpoints: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../../shared-fixtures.js';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'textgen-convert-bad-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A copy of a shared checkpoint folder, to damage. */
function copyOf(name: string): string {
  const dir = join(root, `src${n++}`);
  mkdirSync(dir);
  for (const f of readdirSync(fixture(name))) copyFileSync(fixture(name, f), join(dir, f));
  return dir;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  edit(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
}

/** Converts and expects a one-line TextgenError matching `pattern`; checks nothing was left. */
function refused(source: string, pattern: RegExp, extra: Partial<ConvertOptions> = {}): void {
  const parent = join(root, `out${n++}`);
  mkdirSync(parent);
  const output = join(parent, 'model');
  assert.throws(
    () => convertCheckpoint({ source, output, dtype: 'fp32', ...extra }),
    (e: unknown) => {
      assert.ok(e instanceof TextgenError, String(e));
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
      return true;
    },
  );
  assert.deepEqual(readdirSync(parent), [], 'nothing written');
}

test('a truncated safetensors file', () => {
  const dir = copyOf('stories260K-hf');
  truncateSync(join(dir, 'model.safetensors'), 500_000);
  refused(
    dir,
    /model\.safetensors is not a valid safetensors file: truncated: tensor \S+ ends at byte/,
  );
});

test('a tensor whose shape does not match config.json', () => {
  const dir = copyOf('stories260K-hf');
  editConfig(dir, (c) => (c.intermediate_size = 171));
  refused(
    dir,
    /Tensor model\.layers\.0\.mlp\.gate_proj\.weight is \[172, 64\] but config\.json implies \[171, 64\]/,
  );
});

test('a header whose byte ranges disagree with the shapes', () => {
  const dir = copyOf('stories260K-hf');
  const path = join(dir, 'model.safetensors');
  const bytes = readFileSync(path);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = bytes.subarray(8, 8 + len).toString('utf8');
  const edited = header.replace('"shape":[512,64]', '"shape":[512,60]');
  assert.notEqual(edited, header);
  writeFileSync(
    path,
    Buffer.concat([bytes.subarray(0, 8), Buffer.from(edited), bytes.subarray(8 + len)]),
  );
  refused(
    dir,
    /tensor model\.embed_tokens\.weight is F32 \[512, 60\] \(122880 bytes\) but its data_offsets span 131072 bytes/,
  );
});

test('a shard named by the index is missing', () => {
  const dir = copyOf('stories260K-hf-bf16-sharded');
  rmSync(join(dir, 'model-00002-of-00002.safetensors'));
  refused(
    dir,
    /Missing shard model-00002-of-00002\.safetensors \(named by model\.safetensors\.index\.json\)/,
  );
});

test('weights in an unsupported dtype (I8, F8)', () => {
  for (const dtype of ['I8', 'F8_E4M3']) {
    const dir = copyOf('stories260K-hf');
    const st = new SafetensorsFile(join(dir, 'model.safetensors'));
    const tensors: Record<string, RawTensor> = {};
    for (const [name, e] of st.tensors) {
      const data = st.readFloat32(name);
      tensors[name] =
        name === 'model.layers.1.mlp.up_proj.weight'
          ? { dtype, shape: e.shape, bytes: new Uint8Array(data.length) }
          : { dtype: 'F32', shape: e.shape, bytes: new Uint8Array(data.buffer) };
    }
    st.close();
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    refused(
      dir,
      new RegExp(
        `Tensor model\\.layers\\.1\\.mlp\\.up_proj\\.weight in model\\.safetensors is ${dtype}; textgen convert reads F32, F16 and BF16 weights`,
      ),
    );
  }
});

test('a checkpoint larger than the free disk space', () => {
  refused(
    fixture('stories260K-hf'),
    /Not enough disk space in .*: converting needs about 0\.00 GB, 0\.00 GB is free/,
    {
      freeBytes: () => 1000,
    },
  );
});

test('an unknown model_type, an unsupported rope type, a sliding window shorter than the context', () => {
  const dir = copyOf('stories260K-hf');
  editConfig(dir, (c) => (c.model_type = 'falcon'));
  refused(dir, /model_type "falcon" is not one textgen convert knows/);
  editConfig(dir, (c) => {
    c.model_type = 'llama';
    c.rope_scaling = { rope_type: 'yarn', factor: 4 };
  });
  refused(dir, /rope_scaling type 'yarn' \(supported: linear, llama3\)/);
  editConfig(dir, (c) => {
    c.model_type = 'mistral';
    c.rope_scaling = null;
    c.sliding_window = 256;
  });
  refused(dir, /sliding_window 256 is shorter than the context 512/);
  const out = join(root, `ok${n++}`);
  convertCheckpoint({ source: dir, output: out, dtype: 'fp32', context: 256 });
  assert.equal(
    JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).max_position_embeddings,
    256,
  );
});

test('tensors the config does not explain, a missing tensor, no tokenizer.json, no weights', () => {
  const qwen = copyOf('stories260K-hf');
  editConfig(qwen, (c) => (c.model_type = 'qwen2'));
  refused(
    qwen,
    /The checkpoint has no tensor model\.layers\.0\.self_attn\.q_proj\.bias, which its config\.json implies/,
  );
  const untied = copyOf('stories260K-hf');
  editConfig(untied, (c) => (c.tie_word_embeddings = false));
  refused(untied, /no tensor lm_head\.weight/);
  const qwen3 = copyOf('tiny-random-gpt2-hf');
  const st = new SafetensorsFile(join(qwen3, 'model.safetensors'));
  const tensors: Record<string, RawTensor> = {};
  for (const [name, e] of st.tensors)
    tensors[name] = {
      dtype: 'F32',
      shape: e.shape,
      bytes: new Uint8Array(st.readFloat32(name).buffer),
    };
  st.close();
  tensors['transformer.h.0.attn.q_norm.weight'] = {
    dtype: 'F32',
    shape: [8],
    bytes: new Uint8Array(32),
  };
  writeSafetensors(join(qwen3, 'model.safetensors'), tensors);
  refused(
    qwen3,
    /has 1 tensor\(s\) its config\.json does not explain: transformer\.h\.0\.attn\.q_norm\.weight/,
  );
  const noTok = copyOf('stories260K-hf');
  rmSync(join(noTok, 'tokenizer.json'));
  refused(noTok, /No tokenizer\.json in/);
  const noWeights = copyOf('stories260K-hf');
  rmSync(join(noWeights, 'model.safetensors'));
  refused(noWeights, /No model\.safetensors or model\.safetensors\.index\.json in/);
});

test('an existing output is kept unless replace is asked for', () => {
  const out = join(root, `exists${n++}`);
  mkdirSync(out);
  writeFileSync(join(out, 'keep'), 'x');
  assert.throws(
    () => convertCheckpoint({ source: fixture('stories260K-hf'), output: out, dtype: 'fp32' }),
    /already exists/,
  );
  assert.ok(existsSync(join(out, 'keep')), "existsSync(join(out, 'keep'))");
  convertCheckpoint({ source: fixture('stories260K-hf'), output: out, dtype: 'q4', replace: true });
  assert.deepEqual(readdirSync(join(out, 'onnx')).sort(), [
    'model_q4.onnx',
    'textgen_decoder_q4.onnx',
  ]);
  assert.ok(!existsSync(join(out, 'keep')), "!existsSync(join(out, 'keep'))");
  assert.deepEqual(
    readdirSync(root).filter((f) => f.startsWith('.textgen-convert-')),
    [],
  );
});
