// KvCache on hand-made data (append with growth, rewind, reorder, packed [2, ...] lead dims, fp16 bits),
// then the real thing: greedy decoding through the cache must give exactly the tokens of a plain
// full-prefix recomputation (no past, argmax of the last position) run here with onnxruntime-node.
// The embedded model and writer-made random models are in every clone; the fixture models need
// ../shared and are skipped without it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, type SettingsLayer } from '../../../generation/index.js';
import { uncachedGreedy } from '../../ort-greedy.js';
import { KvCache, type KvEntrySpec } from '../../../generation/runtime/kv-cache.js';
import { fixture, generateAll, repoRoot } from '../fixtures.js';
import { PRESETS, writeRandomModel } from '../../../generation/onnx-writer/random-model.js';
import { sharedTest } from '../../shared-fixtures.js';

type Value = (lead: number, row: number, head: number, t: number, d: number) => number;

const HEADS = 2;
const DIM = 3;

function spec(
  name: string,
  lead: number[] = [],
  type: 'float32' | 'float16' = 'float32',
): KvEntrySpec {
  return {
    input: `past.${name}`,
    output: `present.${name}`,
    lead,
    heads: HEADS,
    headDim: DIM,
    type,
  };
}

/** Flat index in a [...lead, batch, heads, length, dim] tensor. */
function at(
  dims: readonly number[],
  lead: number,
  row: number,
  head: number,
  t: number,
  d: number,
): number {
  const [batch, heads, length, dim] = dims.slice(-4);
  return (((lead * batch + row) * heads + head) * length + t) * dim + d;
}

function leadCount(dims: readonly number[]): number {
  return dims.slice(0, -4).reduce((a, b) => a * b, 1);
}

/**
 * One model run as ORT performs it: each present = the past it was fed followed by `added` new
 * positions whose values come from `fresh`; then the cache swaps the presents in.
 */
function run(cache: KvCache, added: number, fresh: Value): void {
  const past = cache.feeds();
  const presents = cache.fetches(added);
  const length = cache.length;
  for (const [name, present] of Object.entries(presents)) {
    const from = past[name.replace('present', 'past')];
    assert.ok(from, `a past input pairs with ${name}`);
    const out = present.data as Float32Array | Uint16Array;
    const src = from.data as Float32Array | Uint16Array;
    assert.deepEqual(present.dims.slice(-4), [cache.batch, HEADS, length + added, DIM]);
    for (let l = 0; l < leadCount(present.dims); l++) {
      for (let r = 0; r < cache.batch; r++) {
        for (let h = 0; h < HEADS; h++) {
          for (let t = 0; t < length + added; t++) {
            for (let d = 0; d < DIM; d++) {
              out[at(present.dims, l, r, h, t, d)] =
                t < length ? src[at(from.dims, l, r, h, t, d)] : fresh(l, r, h, t, d);
            }
          }
        }
      }
    }
  }
  cache.update(added);
}

/** Asserts that every past input holds `expected` at every position. */
function assertPast(cache: KvCache, expected: Value, label: string): void {
  for (const [name, tensor] of Object.entries(cache.feeds())) {
    assert.deepEqual(
      tensor.dims.slice(-4),
      [cache.batch, HEADS, cache.length, DIM],
      `${label}: ${name} dims`,
    );
    const data = tensor.data as Float32Array | Uint16Array;
    assert.equal(data.length, leadCount(tensor.dims) * cache.batch * HEADS * cache.length * DIM);
    for (let l = 0; l < leadCount(tensor.dims); l++) {
      for (let r = 0; r < cache.batch; r++) {
        for (let h = 0; h < HEADS; h++) {
          for (let t = 0; t < cache.length; t++) {
            for (let d = 0; d < DIM; d++) {
              assert.equal(
                data[at(tensor.dims, l, r, h, t, d)],
                expected(l, r, h, t, d),
                `${label}: ${name}[${l},${r},${h},${t},${d}]`,
              );
            }
          }
        }
      }
    }
  }
}

/** A value that identifies its origin: step tag, lead half, row, head, position and lane (fits fp16 bits). */
const tagged =
  (tag: number): Value =>
  (l, r, h, t, d) =>
    tag * 30000 + l * 15000 + r * 5000 + h * 1000 + t * 10 + d;

test('append: the first run fills the cache, later runs add positions; growth keeps the past intact', () => {
  const cache = new KvCache([spec('0.key'), spec('0.value')], 2, 2);
  assert.equal(cache.length, 0);
  assertPast(cache, tagged(0), 'empty');
  run(cache, 3, tagged(0));
  assert.equal(cache.length, 3);
  assertPast(cache, tagged(0), 'after prefill of 3 (beyond the initial capacity 2)');
  for (let step = 0; step < 6; step++) {
    const before = cache.length;
    cache.fetches(1);
    // fetches() may grow the buffers; the past it feeds must be unchanged.
    assertPast(cache, tagged(0), `feeds after fetches at length ${before}`);
    run(cache, 1, tagged(0));
  }
  assert.equal(cache.length, 9);
  assertPast(cache, tagged(0), 'after 6 single steps');
});

test('rewind keeps the first positions of every row and head, and decoding continues from there', () => {
  const cache = new KvCache([spec('0.key'), spec('1.value')], 3, 4);
  run(cache, 5, tagged(0));
  run(cache, 1, tagged(1));
  run(cache, 1, tagged(2));
  cache.rewind(4);
  assert.equal(cache.length, 4);
  assertPast(cache, tagged(0), 'after rewind(4)');
  cache.rewind(10);
  assert.equal(cache.length, 4, 'rewinding past the end changes nothing');
  run(cache, 2, tagged(1));
  assertPast(
    cache,
    (l, r, h, t, d) => (t < 4 ? tagged(0) : tagged(1))(l, r, h, t, d),
    'after rewind + 2 new positions',
  );
  cache.rewind(0);
  assert.equal(cache.length, 0);
  run(cache, 1, tagged(2));
  assertPast(cache, tagged(2), 'after rewind(0) + 1');
});

test('reorder: new row i is old row rows[i] (beam search), expansion and shrinking, then decoding goes on', () => {
  const cache = new KvCache([spec('0.key'), spec('0.value')], 2, 8);
  run(cache, 3, tagged(0));
  cache.reorder([0, 1]);
  assertPast(cache, tagged(0), 'identity reorder');
  cache.reorder([1, 0, 1]);
  assert.equal(cache.batch, 3);
  const rowsAfterExpand = [1, 0, 1];
  assertPast(
    cache,
    (l, r, h, t, d) => tagged(0)(l, rowsAfterExpand[r], h, t, d),
    'after [1, 0, 1]',
  );
  run(cache, 1, tagged(1));
  const expanded: Value = (l, r, h, t, d) =>
    t < 3 ? tagged(0)(l, rowsAfterExpand[r], h, t, d) : tagged(1)(l, r, h, t, d);
  assertPast(cache, expanded, 'a step after expansion');
  cache.reorder([2, 2, 0]);
  const rows = [2, 2, 0];
  assertPast(cache, (l, r, h, t, d) => expanded(l, rows[r], h, t, d), 'beam reorder [2, 2, 0]');
  cache.reorder([1]);
  assert.equal(cache.batch, 1);
  assertPast(cache, (l, r, h, t, d) => expanded(l, rows[1], h, t, d), 'shrunk to one row');
  run(cache, 70, tagged(0));
  assertPast(
    cache,
    (l, r, h, t, d) => (t < 4 ? expanded(l, rows[1], h, t, d) : tagged(0)(l, r, h, t, d)),
    'growth after shrinking',
  );
});

test('packed lead dims ([2, batch, heads, length, dim], genai "past_N"): every operation treats both halves', () => {
  const cache = new KvCache([spec('0', [2]), spec('1', [2])], 2, 2);
  run(cache, 2, tagged(0));
  for (const tensor of Object.values(cache.feeds()))
    assert.deepEqual(tensor.dims, [2, 2, HEADS, 2, DIM]);
  run(cache, 1, tagged(1));
  const grown: Value = (l, r, h, t, d) => (t < 2 ? tagged(0) : tagged(1))(l, r, h, t, d);
  assertPast(cache, grown, 'packed after growth');
  cache.reorder([1, 1]);
  assertPast(cache, (l, r, h, t, d) => grown(l, 1, h, t, d), 'packed reorder');
  cache.rewind(2);
  assertPast(cache, (l, r, h, t, d) => tagged(0)(l, 1, h, t, d), 'packed rewind');
});

test('float16 caches hold raw half bits (Uint16Array) and go through the same operations', () => {
  const cache = new KvCache([spec('0.key', [], 'float16')], 2, 1);
  run(cache, 2, tagged(0));
  const [tensor] = Object.values(cache.feeds());
  assert.equal(tensor.type, 'float16');
  assert.ok(tensor.data instanceof Uint16Array, 'tensor.data instanceof Uint16Array');
  run(cache, 1, tagged(1));
  cache.reorder([1, 0]);
  cache.rewind(2);
  assertPast(cache, (l, r, h, t, d) => tagged(0)(l, 1 - r, h, t, d), 'fp16 after reorder + rewind');
  cache.dispose();
  assert.equal(cache.length, 0);
});

// ---- cached decoding == full-prefix recomputation, on the real models ----

let writerRoot: string;
before(() => {
  writerRoot = mkdtempSync(join(tmpdir(), 'textgen-kv-writer-'));
  for (const name of ['llama-tiny', 'gpt2-tiny'])
    writeRandomModel(join(writerRoot, name), PRESETS[name], 11);
});
after(() => rmSync(writerRoot, { recursive: true, force: true }));

/**
 * Greedy with the processors off: the oracle takes the bare argmax, while a model's own generation
 * config may ask for more (the embedded model's repetition_penalty 1.1).
 */
function neutral(steps: number): SettingsLayer {
  return { max_new_tokens: steps, repetition_penalty: 1 };
}

interface Case {
  name: string;
  /** The model folder (a function: the writer's folders exist only once `before` ran). */
  dir: () => string;
  /** The ONNX file inside it that the oracle runs. */
  file: string;
  prompts: string[];
  steps: number;
  /** Whether it is one of the ../shared fixtures. */
  shared: boolean;
}

const CASES: Case[] = [
  {
    name: 'the embedded model (models/default)',
    dir: () => join(repoRoot, 'models', 'default'),
    file: join('onnx', 'model.onnx'),
    prompts: ['Call me Ishmael.', 'The whale'],
    steps: 30,
    shared: false,
  },
  ...['llama-tiny', 'gpt2-tiny'].map((name) => ({
    name: `writer-made random ${name}`,
    dir: () => join(writerRoot, name),
    file: join('onnx', 'model.onnx'),
    prompts: ['Hello world', 'The quick brown fox jumps'],
    steps: 20,
    shared: false,
  })),
  {
    name: 'stories260K-onnx',
    dir: () => fixture('stories260K-onnx'),
    file: join('onnx', 'model.onnx'),
    prompts: ['Once upon a time', 'Tom said 你好 to Lily'],
    steps: 40,
    shared: true,
  },
  {
    name: 'tiny-random-gpt2',
    dir: () => fixture('tiny-random-gpt2'),
    file: join('onnx', 'model.onnx'),
    prompts: ['Hello world', '1, 2, 3,'],
    steps: 30,
    shared: true,
  },
  {
    name: 'ort-genai-tiny-random-gpt2-fp32',
    dir: () => fixture('ort-genai-tiny-random-gpt2-fp32'),
    file: 'past.onnx',
    prompts: ['Hello world', 'The quick brown fox jumps'],
    steps: 30,
    shared: true,
  },
  {
    name: 'ort-genai-tiny-random-llama-fp16',
    dir: () => fixture('ort-genai-tiny-random-llama-fp16'),
    file: 'model.onnx',
    prompts: ['Hello world', 'The quick brown fox jumps'],
    steps: 24,
    shared: true,
  },
];

for (const c of CASES) {
  (c.shared ? sharedTest : test)(`${c.name}: decoding through the KV cache`, async (t) => {
    const generator = await loadModel(c.dir(), { inProcess: true });
    t.after(() => generator.dispose());
    assert.equal(generator.info.cached, true);
    const expected: number[][] = [];

    await t.test('greedy equals the no-cache recomputation token for token', async () => {
      for (const prompt of c.prompts) {
        const ids = await generator.tokenize(prompt);
        const reference = await uncachedGreedy(
          join(c.dir(), c.file),
          ids.length ? ids : [generator.info.bosTokenId!],
          c.steps,
          generator.info.eosTokenIds,
        );
        const { done } = await generateAll(generator, prompt, neutral(c.steps));
        assert.deepEqual(done.sequences[0].token_ids, reference, `"${prompt}"`);
        expected.push(reference);
      }
    });

    await t.test('a left-padded batch gives every row its unbatched tokens', async () => {
      const batch = await generateAll(generator, c.prompts, neutral(c.steps));
      assert.deepEqual(
        batch.done.sequences.map((s) => s.token_ids),
        expected,
      );
    });

    await t.test(
      'num_return_sequences 3 (cache rows expanded after prefill) with top_k 1 repeats the greedy tokens',
      async () => {
        const { done } = await generateAll(generator, c.prompts[0], {
          ...neutral(c.steps),
          do_sample: true,
          top_k: 1,
          num_return_sequences: 3,
          seed: 1,
        });
        assert.deepEqual(
          done.sequences.map((s) => s.token_ids),
          [expected[0], expected[0], expected[0]],
        );
      },
    );

    await t.test(
      'keepCache: a prompt extending the previous call reuses the cached prefix and matches a fresh run',
      async () => {
        const first = await generateAll(
          generator,
          c.prompts[0],
          { max_new_tokens: 8 },
          { keepCache: true },
        );
        const extended = `${c.prompts[0]}${first.done.sequences[0].text} and then`;
        const reused = await generateAll(
          generator,
          extended,
          { max_new_tokens: c.steps },
          { keepCache: true },
        );
        assert.ok(reused.done.stats.cachedTokens > 0, 'some prompt tokens came from the cache');
        const fresh = await generateAll(generator, extended, { max_new_tokens: c.steps });
        assert.equal(fresh.done.stats.cachedTokens, 0);
        assert.deepEqual(reused.done.sequences[0].token_ids, fresh.done.sequences[0].token_ids);
      },
    );
  });
}
