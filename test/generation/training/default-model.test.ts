// The embedded default model (models/default, made by `npm run train:default`): its files are in the
// loadable layout, its validation loss recomputed here with onnxruntime on the recipe's held-out split
// matches its training summary and beats a unigram model, and greedy continuations of prompts from
// the book are made mostly of words that occur in the training text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import {
  readDocuments,
  splitDocuments,
  unigramLoss,
  validationWindows,
} from '../../../generation/training/data.js';
import { logSumExp } from '../../../generation/softmax.js';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const dir = join(repoRoot, 'models', 'default');
const data = join(repoRoot, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data');
const json = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));

/** The model's own config.json, as far as these tests read it. */
interface DefaultConfig {
  architectures: string[];
  num_hidden_layers: number;
  num_key_value_heads: number;
  head_dim: number;
  eos_token_id: number;
  bos_token_id: number;
  max_position_embeddings: number;
}

test('the default model is small and complete', () => {
  let bytes = 0;
  for (const f of [
    'config.json',
    'generation_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'onnx/model.onnx',
  ])
    bytes += statSync(join(dir, f)).size;
  assert.ok(bytes < 10 * 1024 * 1024, `${bytes} bytes`);
  assert.equal((json('config.json') as DefaultConfig).architectures[0], 'LlamaForCausalLM');
});

/** Empty past tensors for every layer (a full forward without a cache). */
function emptyPast(config: DefaultConfig): Record<string, ort.Tensor> {
  const past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < config.num_hidden_layers; l++)
    for (const k of ['key', 'value'])
      past[`past_key_values.${l}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [
        1,
        config.num_key_value_heads,
        0,
        config.head_dim,
      ]);
  return past;
}

test('the validation loss recomputed on the held-out split matches the summary and beats a unigram model', async (t) => {
  // The recipe's split (README: npm run train:default): the book's paragraphs in natural file order,
  // every 20th held out; tokens from the model's own tokenizer.json, BOS/EOS around each paragraph.
  const config = json('config.json') as DefaultConfig;
  const tokenizer = new Tokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  const files = readdirSync(data)
    .filter((n) => /^(chapter_\d+|epilogue)\.txt$/.test(n))
    .map((n) => join(data, n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const split = splitDocuments(readDocuments(files), 0.05);
  const stream = (docs: string[]) =>
    Int32Array.from(
      docs.flatMap((d) => [
        config.bos_token_id,
        ...tokenizer.encode(d, { add_special_tokens: false }).ids,
        config.eos_token_id,
      ]),
    );
  const val = stream(split.val);
  const T = config.max_position_embeddings;
  const windows = validationWindows(val, T, 100);
  const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'), {
    intraOpNumThreads: 1,
  });
  let nll = 0;
  try {
    const i64 = (v: ArrayLike<number>) =>
      new ort.Tensor('int64', BigInt64Array.from(Array.from(v), BigInt), [1, v.length]);
    for (let w = 0; w < windows; w++) {
      const window = val.subarray(w * T, w * T + T + 1);
      const inputs = window.subarray(0, T);
      const out = await session.run({
        input_ids: i64(inputs),
        attention_mask: i64(new Array(T).fill(1)),
        position_ids: i64(Array.from({ length: T }, (_, i) => i)),
        ...emptyPast(config),
      });
      const logits = out.logits.data as Float32Array;
      const vocab = out.logits.dims[2];
      for (let t = 0; t < T; t++)
        nll += logSumExp(logits, t * vocab, vocab) - logits[t * vocab + window[t + 1]];
    }
  } finally {
    await session.release();
  }
  const valLoss = nll / (windows * T);
  const unigram = unigramLoss(stream(split.train), val, tokenizer.get_vocab(true).size, T, windows);
  const summary = json('training_summary.json') as { valLoss: number; valTokens: number };
  t.diagnostic(`val loss ${valLoss} (summary ${summary.valLoss}), unigram ${unigram}`);
  assert.equal(val.length, summary.valTokens, 'the held-out split has the size the trainer saw');
  // The trainer scored the same windows with its own kernels: the summary must be what ORT gives.
  assert.ok(
    Math.abs(valLoss - summary.valLoss) < 1e-5,
    `recomputed ${valLoss} vs summary ${summary.valLoss}`,
  );
  assert.ok(valLoss < unigram - 0.5, `val ${valLoss} vs unigram ${unigram}`);
});

/** Greedy decoding with the KV cache, straight on onnxruntime. */
async function greedy(
  session: ort.InferenceSession,
  prompt: number[],
  steps: number,
  layers: number,
  kvHeads: number,
  headDim: number,
  eos: number,
): Promise<number[]> {
  const i64 = (v: number[], dims: number[]) =>
    new ort.Tensor('int64', BigInt64Array.from(v, BigInt), dims);
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < layers; l++)
    for (const k of ['key', 'value'])
      past[`past_key_values.${l}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [
        1,
        kvHeads,
        0,
        headDim,
      ]);
  const out: number[] = [];
  let input = prompt,
    total = 0;
  for (let s = 0; s < steps; s++) {
    total += input.length;
    const r = await session.run({
      input_ids: i64(input, [1, input.length]),
      attention_mask: i64(new Array(total).fill(1), [1, total]),
      position_ids: i64(
        input.map((_, i) => total - input.length + i),
        [1, input.length],
      ),
      ...past,
    });
    const logits = r.logits.data as Float32Array;
    const vocab = r.logits.dims[2];
    const last = logits.subarray((input.length - 1) * vocab, input.length * vocab);
    let best = 0;
    for (let i = 1; i < vocab; i++) if (last[i] > last[best]) best = i;
    if (best === eos) break;
    out.push(best);
    past = {};
    for (let l = 0; l < layers; l++)
      for (const k of ['key', 'value']) past[`past_key_values.${l}.${k}`] = r[`present.${l}.${k}`];
    input = [best];
  }
  return out;
}

test('greedy continuations are mostly real words from the book', async (t) => {
  const config = json('config.json') as DefaultConfig;
  const tokenizer = new Tokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'));
  const known = new Set<string>();
  for (const f of readdirSync(data).filter((n) => /^chapter_\d+\.txt$/.test(n)))
    for (const w of readFileSync(join(data, f), 'utf8')
      .toLowerCase()
      .match(/[a-z]+/g) ?? [])
      known.add(w);
  const words: string[] = [];
  for (const prompt of [
    'Call me Ishmael.',
    'The whale',
    'Captain Ahab said',
    'It was a dark night, and the ship',
  ]) {
    const ids = await greedy(
      session,
      tokenizer.encode(prompt).ids,
      48,
      config.num_hidden_layers,
      config.num_key_value_heads,
      config.head_dim,
      config.eos_token_id,
    );
    words.push(
      ...(tokenizer
        .decode(ids, { skip_special_tokens: true })
        .toLowerCase()
        .match(/[a-z]+/g) ?? []),
    );
  }
  const real = words.filter((w) => known.has(w)).length / words.length;
  t.diagnostic(`real-word fraction ${real.toFixed(3)} of ${words.length} generated words`);
  assert.ok(words.length >= 40, `only ${words.length} words`);
  assert.ok(real >= 0.8, `real-word fraction ${real}`);
});
