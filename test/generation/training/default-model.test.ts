// The embedded default model (models/default, made by `npm run train:default`): its files are in the
// loadable layout, its training summary beats the unigram baseline, and greedy continuations of prompts
// from the book are made mostly of words that occur in the training text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const dir = join(repoRoot, 'models', 'default');
const data = join(repoRoot, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data');
const json = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));

test('the default model is small, complete and better than a unigram model', () => {
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
  const config = json('config.json');
  assert.equal(config.architectures[0], 'LlamaForCausalLM');
  const summary = json('training_summary.json');
  assert.ok(
    summary.valLoss < summary.unigramValLoss - 0.5,
    `val ${summary.valLoss} vs unigram ${summary.unigramValLoss}`,
  );
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
  const config = json('config.json');
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
