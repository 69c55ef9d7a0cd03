// `textgen convert --dtype fp16|q8|q4` and external data: the file names transformers.js looks for,
// the stored weight types and kernels (fp16 weights behind Casts with float32 I/O; MatMulNBits block 32,
// accuracy_level 4, the tied head included; GatherBlockQuantized embeddings), sizes, quality against
// fp32, the same greedy ids in transformers.js; and a model written with external data
// (`onnx/model.onnx_data`, flagged in config.json) loading in both.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, AutoModelForCausalLM, Tensor } from '@huggingface/transformers';
import { loadModel, type TextGenerator } from '../../../generation/index.js';
import { convertCheckpoint } from '../../../generation/convert/convert.js';
import { fixture, generateAll } from '../fixtures.js';
import { storiesGolden, type StoriesGolden } from '../goldens.js';
import { inspectOnnx, withoutFused } from './helpers.js';
// Every test here uses the fixture checkpoints: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../../shared-fixtures.js';

let stories: StoriesGolden;
let LINES: string[];
const FLOAT = 1;
const UINT8 = 2;
const FLOAT16 = 10;

let root: string;
before(() => {
  stories = storiesGolden();
  LINES = readFileSync(fixture('corpus-tinystories-sample', 'tinystories-sample.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 4);
  root = mkdtempSync(join(tmpdir(), 'textgen-convert-dtypes-'));
  for (const dtype of ['fp32', 'fp16', 'q8', 'q4'] as const)
    convertCheckpoint({ source: fixture('stories260K-hf'), output: join(root, dtype), dtype });
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Mean NLL over the first sample lines (each from BOS, at most 256 tokens). */
async function meanNll(model: TextGenerator): Promise<number> {
  let nll = 0;
  let count = 0;
  for (const line of LINES) {
    const ids = (await model.tokenize(line)).slice(0, 256);
    const r = await model.score({ ids, scoreFrom: 1 });
    nll += r.nll;
    count += r.count;
  }
  return nll / count;
}

async function transformersJsIds(name: string, dtype: string, prompt: number[], n: number) {
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const peer = await AutoModelForCausalLM.from_pretrained(name, {
    dtype: dtype as 'fp32',
    device: 'cpu',
  });
  const out = (await peer.generate({
    input_ids: new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]),
    attention_mask: new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [
      1,
      prompt.length,
    ]),
    max_new_tokens: n,
    min_new_tokens: n,
    do_sample: false,
  })) as { tolist(): bigint[][] };
  await (peer as unknown as { dispose(): Promise<unknown> }).dispose();
  return out.tolist()[0].slice(prompt.length).map(Number);
}

test('fp16: half-size weights behind Casts, float32 I/O, NLL within 1e-4 of fp32 (both files)', async () => {
  const file = join(root, 'fp16', 'onnx', 'model_fp16.onnx');
  const onnx = inspectOnnx(file);
  const embed = onnx.initializers.find((t) => t.name === 'model.embed_tokens.weight')!;
  assert.equal(embed.type, FLOAT16);
  assert.equal(
    onnx.initializers.find((t) => t.name === 'model.layers.0.self_attn.q_proj.weight')!.type,
    FLOAT16,
  );
  assert.equal(onnx.initializers.find((t) => t.name === 'model.norm.weight')!.type, FLOAT);
  const ratio = statSync(file).size / statSync(join(root, 'fp32', 'onnx', 'model.onnx')).size;
  assert.ok(ratio > 0.45 && ratio < 0.6, `fp16/fp32 size ${ratio}`);
  const compatible = withoutFused(join(root, 'fp16'));
  const [fp32, fp16, plain] = await Promise.all([
    loadModel(join(root, 'fp32'), { inProcess: true }),
    loadModel(join(root, 'fp16'), { inProcess: true, dtype: 'fp16' }),
    loadModel(compatible.dir, { inProcess: true, dtype: 'fp16' }),
  ]);
  try {
    assert.equal(fp16.info.dtype, 'fp16');
    const a = await meanNll(fp32);
    for (const m of [fp16, plain]) {
      const b = await meanNll(m);
      assert.ok(Math.abs(a - b) / a < 1e-4, `fp16 (${m.info.cacheLayout}) ${b} vs fp32 ${a}`);
    }
  } finally {
    await Promise.all([fp32.dispose(), fp16.dispose(), plain.dispose()]);
    compatible.cleanup();
  }
});

for (const [dtype, file, bits, maxLoss] of [
  ['q8', 'model_quantized.onnx', 8, 0.01],
  ['q4', 'model_q4.onnx', 4, 0.15],
] as const) {
  test(`${dtype}: MatMulNBits (${bits}-bit, block 32, accuracy_level 4) for every linear and the tied head`, async () => {
    const onnx = inspectOnnx(join(root, dtype, 'onnx', file));
    const nbits = onnx.nodes.filter((n) => n.op === 'MatMulNBits');
    // 7 projections per layer × 5 layers + the tied head; no float MatMul on weights is left.
    assert.equal(nbits.length, 7 * 5 + 1);
    for (const n of nbits) {
      assert.equal(n.domain, 'com.microsoft');
      assert.equal(n.ints.bits, bits);
      assert.equal(n.ints.block_size, 32);
      assert.equal(n.ints.accuracy_level, 4);
    }
    assert.ok(
      nbits.some((n) => n.ints.N === 512 && n.ints.K === 64),
      'the head [512 × 64]',
    );
    assert.equal(onnx.nodes.filter((n) => n.op === 'GatherBlockQuantized').length, 1);
    assert.equal(onnx.opsets['com.microsoft'], 1);
    const embed = onnx.initializers.find((t) => t.name === 'model.embed_tokens.weight')!;
    assert.equal(embed.type, UINT8);
    assert.deepEqual(embed.dims, [512, 2, (32 * bits) / 8]);
    // The tied embedding is stored once, quantized, for both the lookup and the head.
    assert.equal(
      onnx.initializers.filter((t) => t.name.startsWith('model.embed_tokens')).length,
      2,
    );
    const size = statSync(join(root, dtype, 'onnx', file)).size;
    const fp32Size = statSync(join(root, 'fp32', 'onnx', 'model.onnx')).size;
    assert.ok(size < fp32Size * (bits === 8 ? 0.4 : 0.25), `${dtype} is ${size} bytes`);
  });

  test(`${dtype}: NLL within ${maxLoss * 100}% of fp32 (fused and compatible files), same greedy ids in transformers.js`, async () => {
    const compatible = withoutFused(join(root, dtype));
    const [fp32, fused, plain] = await Promise.all([
      loadModel(join(root, 'fp32'), { inProcess: true }),
      loadModel(join(root, dtype), { inProcess: true, dtype }),
      loadModel(compatible.dir, { inProcess: true, dtype }),
    ]);
    try {
      assert.equal(fused.info.cacheLayout, 'zero-copy');
      assert.equal(plain.info.cacheLayout, 'growing');
      const [a, b, c] = [await meanNll(fp32), await meanNll(plain), await meanNll(fused)];
      assert.ok(b >= a * 0.999 && b < a * (1 + maxLoss), `${dtype} ${b} vs fp32 ${a}`);
      // The same quantized weights in both graphs; only the kernels' grouping differs.
      assert.ok(Math.abs(c - b) / b < 1e-3, `fused ${c} vs compatible ${b}`);
      const g = stories.prompt_once_upon_a_time_greedy_60;
      const { done } = await generateAll(plain, g.prompt, { max_new_tokens: 20 });
      const ours = done.sequences[0].token_ids;
      assert.deepEqual(await transformersJsIds(dtype, dtype, g.prompt_ids, 20), ours);
    } finally {
      await Promise.all([fp32.dispose(), fused.dispose(), plain.dispose()]);
      compatible.cleanup();
    }
  });
}

test('external data: weights in onnx/model.onnx_data, flagged for transformers.js; both load it', async () => {
  const dir = join(root, 'external');
  convertCheckpoint({
    source: fixture('stories260K-hf'),
    output: dir,
    dtype: 'fp32',
    inlineLimitBytes: 1000,
  });
  const onnx = join(dir, 'onnx', 'model.onnx');
  assert.ok(statSync(onnx).size < 100_000, 'the graph file holds no large weights');
  assert.ok(existsSync(`${onnx}_data`), 'existsSync(`${onnx}_data`)');
  const embed = inspectOnnx(onnx).initializers.find((t) => t.name === 'model.embed_tokens.weight')!;
  assert.equal(embed.external?.location, 'model.onnx_data');
  assert.equal(embed.external?.length, String(512 * 64 * 4));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(config['transformers.js_config'].use_external_data_format, {
    'model.onnx': 1,
    'textgen_decoder.onnx': 1,
  });
  const g = stories.prompt_once_upon_a_time_greedy_60;
  const model = await loadModel(dir, { inProcess: true });
  try {
    const { done } = await generateAll(model, g.prompt, { max_new_tokens: 60 });
    assert.deepEqual(done.sequences[0].token_ids, g.generated_ids);
  } finally {
    await model.dispose();
  }
  assert.deepEqual(await transformersJsIds('external', 'fp32', g.prompt_ids, 60), g.generated_ids);
});
