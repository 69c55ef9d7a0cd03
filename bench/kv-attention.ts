/**
 * Microbenchmark of attention formulations for one decode step over a KV cache held in JS memory
 * (issue 12's choice of the fused graph's attention). Each graph stacks `--layers` attention blocks
 * (8 query heads, 4 KV heads of 64 unless changed) fed one new token; the cache is fed as inputs.
 * Variants, all checked against `fed-split` for the same output:
 *   fed-split      FusedMatMul(transB) over the fed cache and over the new key separately, one
 *                  softmax over the concatenated scores (the fused graph's choice); fetch new K/V
 *   fed-capacity   the same, fed a buffer twice the length with the unused half masked (a cache
 *                  grown by doubling, fed whole)
 *   fed-seqmajor   the cache held sequence-major [1, p, kvHeads, dim] (every prefix contiguous),
 *                  transposed to [1, kvHeads, p, dim] in the graph (ORT materialises the transpose)
 *   optimum        Concat past+new, Expand KV heads, MatMul; presents fetched (today's graphs)
 *   optimum-keep   the optimum graph fetching only the attention output (the fetch's share)
 *   gqa-separate   GroupQueryAttention as textgen runs a foreign GQA graph today: past fed, present
 *                  (past + 1) fetched into a preallocated buffer
 *   gqa-shared     GroupQueryAttention, past and present the same fetched buffer (written in place)
 *   gqa-past       GroupQueryAttention, past fed, present not fetched
 *   mha-past       MultiHeadAttention (no grouped heads: the cache holds 8 heads), present not fetched
 * Prints ms per layer-step (wall, median of interleaved rounds, and the range over rounds).
 *   npx tsx bench/kv-attention.ts [--contexts 128,512,2048] [--layers 8] [--steps 40] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { attention, type DecoderIo } from '../generation/onnx-writer/decoder-common.js';
import {
  attentionContext,
  cachedAttention,
  toHeads,
} from '../generation/onnx-writer/fused-blocks.js';
import { GraphBuilder, writeMessage } from '../generation/onnx-writer/graph.js';
import { ints, machine, median, options, span } from './common.js';

const values = options({
  contexts: '128,512,2048',
  layers: '8',
  steps: '40',
  rounds: '3',
  threads: '1',
});
const L = Number(values.layers);
const H = 8;
const KV = 4;
const D = 64;
const contexts = ints(values.contexts);
const steps = Number(values.steps);
const rounds = Number(values.rounds);
const dir = mkdtempSync(join(tmpdir(), 'textgen-kv-attention-'));

type Feeds = Record<string, ort.Tensor>;
interface Variant {
  name: string;
  session: ort.InferenceSession;
  /** Feeds and fetches for context P (built once; steps reuse them). */
  prepare(p: number): { feeds: Feeds; fetches: string[] | Record<string, ort.Tensor> };
}

const f32 = (n: number, dims: number[], fill = () => Math.random() - 0.5) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = fill();
  return new ort.Tensor('float32', a, dims);
};
const i64 = (a: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), dims);
const i32 = (a: number[], dims: number[]) => new ort.Tensor('int32', Int32Array.from(a), dims);

async function open(name: string, g: GraphBuilder): Promise<ort.InferenceSession> {
  const path = join(dir, `${name}.onnx`);
  writeMessage(path, g.model(17));
  return ort.InferenceSession.create(path, {
    intraOpNumThreads: Number(values.threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
}

function newTokenInputs(g: GraphBuilder) {
  return {
    q: g.input({ name: 'q', type: 'float32', shape: [1, 1, H * D] }),
    k: g.input({ name: 'k', type: 'float32', shape: [1, 1, KV * D] }),
    v: g.input({ name: 'v', type: 'float32', shape: [1, 1, KV * D] }),
  };
}

/** The fused graph's attention, over a fed cache of `capacity` ≥ p slots (mask marks p valid). */
async function fedVariant(name: string, capacityOf: (p: number) => number, seqMajor = false) {
  const g = new GraphBuilder(name);
  const { q, k, v } = newTokenInputs(g);
  const ids = g.input({ name: 'ids', type: 'int64', shape: [1, 1] });
  const mask = g.input({ name: 'mask', type: 'int64', shape: [1, 't'] });
  const cacheShape = seqMajor ? [1, 'c', KV, D] : [1, KV, 'c', D];
  const cache = Array.from({ length: L }, (_, l) => ({
    key: g.input({ name: `ck${l}`, type: 'float32', shape: cacheShape }),
    value: g.input({ name: `cv${l}`, type: 'float32', shape: cacheShape }),
  }));
  const headMajor = (x: string) => (seqMajor ? g.op('Transpose', [x], { perm: [0, 2, 1, 3] }) : x);
  const shape = { heads: H, kvHeads: KV, headDim: D };
  const ctx = attentionContext(g, shape, ids, mask, headMajor(cache[0].key));
  const kNew = toHeads(g, k, KV, D);
  const vNew = toHeads(g, v, KV, D);
  for (let l = 0; l < L; l++) {
    const out = cachedAttention(
      g,
      shape,
      ctx,
      q,
      kNew,
      vNew,
      headMajor(cache[l].key),
      headMajor(cache[l].value),
    );
    g.output({ name: `out${l}`, type: 'float32', shape: [1, 1, H * D] }, out);
  }
  g.output({ name: 'newk', type: 'float32', shape: [1, KV, 1, D] }, kNew);
  g.output({ name: 'newv', type: 'float32', shape: [1, KV, 1, D] }, vNew);
  const session = await open(name, g);
  return {
    name,
    session,
    prepare(p: number) {
      const c = capacityOf(p);
      const feeds: Feeds = {
        ids: i64([0], [1, 1]),
        mask: i64([...new Array(c).fill(0).map((_, i) => (i < p ? 1 : 0)), 1], [1, c + 1]),
      };
      const dims = seqMajor ? [1, c, KV, D] : [1, KV, c, D];
      for (let l = 0; l < L; l++) {
        feeds[`ck${l}`] = f32(KV * c * D, dims);
        feeds[`cv${l}`] = f32(KV * c * D, dims);
      }
      return {
        feeds,
        fetches: [...Array.from({ length: L }, (_, l) => `out${l}`), 'newk', 'newv'],
      };
    },
  } satisfies Variant;
}

/** The optimum-style attention (decoder-common's), presents fetched or not. */
async function optimumVariant(name: string, fetchPresents: boolean) {
  const g = new GraphBuilder(name);
  const { q, k, v } = newTokenInputs(g);
  const bias = g.input({ name: 'bias', type: 'float32', shape: [1, 1, 1, 't'] });
  const io: DecoderIo = {
    ids: '',
    mask: '',
    positions: '',
    past: Array.from({ length: L }, (_, l) => ({
      key: g.input({ name: `past_key_values.${l}.key`, type: 'float32', shape: [1, KV, 'p', D] }),
      value: g.input({
        name: `past_key_values.${l}.value`,
        type: 'float32',
        shape: [1, KV, 'p', D],
      }),
    })),
  };
  const shape = {
    layers: L,
    heads: H,
    kvHeads: KV,
    headDim: D,
    hidden: H * D,
    vocab: 1,
    maxPositions: 1,
  };
  const qh = g.op('Transpose', [g.op('Reshape', [q, g.ints([0, 0, H, D])])], {
    perm: [0, 2, 1, 3],
  });
  const kh = toHeads(g, k, KV, D);
  const vh = toHeads(g, v, KV, D);
  for (let l = 0; l < L; l++) {
    const out = attention(g, shape, io, l, qh, kh, vh, bias);
    g.output({ name: `out${l}`, type: 'float32', shape: [1, 1, H * D] }, out);
  }
  const session = await open(name, g);
  return {
    name,
    session,
    prepare(p: number) {
      const feeds: Feeds = { bias: f32(p + 1, [1, 1, 1, p + 1], () => 0) };
      const fetches: Record<string, ort.Tensor> | string[] = fetchPresents ? {} : [];
      for (let l = 0; l < L; l++) {
        for (const kind of ['key', 'value']) {
          feeds[`past_key_values.${l}.${kind}`] = f32(KV * p * D, [1, KV, p, D]);
          // Preallocated presents, as textgen's KvCache passes them (still copied out by the binding).
          if (fetchPresents)
            (fetches as Record<string, ort.Tensor>)[`present.${l}.${kind}`] = f32(
              KV * (p + 1) * D,
              [1, KV, p + 1, D],
              () => 0,
            );
        }
      }
      if (fetchPresents)
        for (let l = 0; l < L; l++)
          (fetches as Record<string, ort.Tensor>)[`out${l}`] = f32(H * D, [1, 1, H * D], () => 0);
      else (fetches as string[]).push(...Array.from({ length: L }, (_, l) => `out${l}`));
      return { feeds, fetches };
    },
  } satisfies Variant;
}

/**
 * GroupQueryAttention with the past fed: 'shared' feeds and fetches one [1, KV, p + 1, D] buffer,
 * 'separate' fetches a present of p + 1 into its own buffer, 'none' fetches no present.
 */
async function gqaVariant(name: string, present: 'shared' | 'separate' | 'none') {
  const shared = present === 'shared';
  const g = new GraphBuilder(name);
  const { q, k, v } = newTokenInputs(g);
  const seqlens = g.input({ name: 'seqlens_k', type: 'int32', shape: [1] });
  const total = g.input({ name: 'total_sequence_length', type: 'int32', shape: [] });
  for (let l = 0; l < L; l++) {
    const pk = g.input({ name: `pk${l}`, type: 'float32', shape: [1, KV, 'p', D] });
    const pv = g.input({ name: `pv${l}`, type: 'float32', shape: [1, KV, 'p', D] });
    const [out] = g.contrib(
      'GroupQueryAttention',
      [q, k, v, pk, pv, seqlens, total],
      3,
      { num_heads: H, kv_num_heads: KV },
      [`out${l}`, `presk${l}`, `presv${l}`],
    );
    g.output({ name: `out${l}`, type: 'float32', shape: [1, 1, H * D] }, out);
    g.output({ name: `presk${l}`, type: 'float32', shape: [1, KV, 't', D] }, `presk${l}`);
    g.output({ name: `presv${l}`, type: 'float32', shape: [1, KV, 't', D] }, `presv${l}`);
  }
  const session = await open(name, g);
  return {
    name,
    session,
    prepare(p: number) {
      const len = shared ? p + 1 : p;
      const feeds: Feeds = { seqlens_k: i32([p], [1]), total_sequence_length: i32([p + 1], []) };
      const fetches: Record<string, ort.Tensor> | string[] = present === 'none' ? [] : {};
      for (let l = 0; l < L; l++) {
        feeds[`pk${l}`] = f32(KV * len * D, [1, KV, len, D]);
        feeds[`pv${l}`] = f32(KV * len * D, [1, KV, len, D]);
        if (present === 'none') {
          (fetches as string[]).push(`out${l}`);
          continue;
        }
        const f = fetches as Record<string, ort.Tensor>;
        const own = () => f32(KV * (p + 1) * D, [1, KV, p + 1, D], () => 0);
        f[`presk${l}`] = shared ? feeds[`pk${l}`] : own();
        f[`presv${l}`] = shared ? feeds[`pv${l}`] : own();
        f[`out${l}`] = f32(H * D, [1, 1, H * D], () => 0);
      }
      return { feeds, fetches };
    },
  } satisfies Variant;
}

/** MultiHeadAttention with past inputs (it has no grouped KV heads: the cache holds H heads). */
async function mhaVariant(name: string) {
  const g = new GraphBuilder(name);
  const q = g.input({ name: 'q', type: 'float32', shape: [1, 1, H * D] });
  const k = g.input({ name: 'k', type: 'float32', shape: [1, 1, H * D] });
  const v = g.input({ name: 'v', type: 'float32', shape: [1, 1, H * D] });
  for (let l = 0; l < L; l++) {
    const pk = g.input({ name: `pk${l}`, type: 'float32', shape: [1, H, 'p', D] });
    const pv = g.input({ name: `pv${l}`, type: 'float32', shape: [1, H, 'p', D] });
    const [out] = g.contrib(
      'MultiHeadAttention',
      [q, k, v, '', '', '', pk, pv],
      3,
      { num_heads: H },
      [`out${l}`, `presk${l}`, `presv${l}`],
    );
    g.output({ name: `out${l}`, type: 'float32', shape: [1, 1, H * D] }, out);
    g.output({ name: `presk${l}`, type: 'float32', shape: [1, H, 't', D] }, `presk${l}`);
    g.output({ name: `presv${l}`, type: 'float32', shape: [1, H, 't', D] }, `presv${l}`);
  }
  const session = await open(name, g);
  return {
    name,
    session,
    prepare(p: number) {
      const feeds: Feeds = {};
      for (let l = 0; l < L; l++) {
        feeds[`pk${l}`] = f32(H * p * D, [1, H, p, D]);
        feeds[`pv${l}`] = f32(H * p * D, [1, H, p, D]);
      }
      return { feeds, fetches: Array.from({ length: L }, (_, l) => `out${l}`) };
    },
  } satisfies Variant;
}

const variants: Variant[] = [
  await fedVariant('fed-split', (p) => p),
  await fedVariant('fed-capacity', (p) => 2 * p),
  await fedVariant('fed-seqmajor', (p) => p, true),
  await optimumVariant('optimum', true),
  await optimumVariant('optimum-keep', false),
  await gqaVariant('gqa-separate', 'separate'),
  await gqaVariant('gqa-shared', 'shared'),
  await gqaVariant('gqa-past', 'none'),
  await mhaVariant('mha-past'),
];

console.log(`machine: ${machine()}`);
console.log(
  `${L} layers × attention (${H} query heads, ${KV} KV heads × ${D}), 1 new token, ${values.threads} thread(s), ${steps} steps × ${rounds} interleaved rounds; ms per layer-step (median [min–max of round medians])`,
);
const qkv = {
  q: f32(H * D, [1, 1, H * D]),
  k: f32(KV * D, [1, 1, KV * D]),
  v: f32(KV * D, [1, 1, KV * D]),
};
const mhaKv = { q: qkv.q, k: f32(H * D, [1, 1, H * D]), v: f32(H * D, [1, 1, H * D]) };
for (const p of contexts) {
  const prepared = variants.map((v) => ({ v, ...v.prepare(p) }));
  const results = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const { v, feeds, fetches } of prepared) {
      const all = { ...feeds, ...(v.name.startsWith('mha') ? mhaKv : qkv) };
      await v.session.run(all, fetches as never);
      const times: number[] = [];
      for (let s = 0; s < steps; s++) {
        const t0 = performance.now();
        await v.session.run(all, fetches as never);
        times.push(performance.now() - t0);
      }
      results.get(v.name)!.push(median(times) / L);
    }
  }
  console.log(`context ${p}:`);
  const base = median(results.get('fed-split')!);
  for (const [name, list] of results) {
    const [med, spread] = [median(list), span(list, 3)];
    console.log(
      `  ${name.padEnd(14)} ${med.toFixed(3)} ms  [${spread}]  ×${(med / base).toFixed(2)} of fed-split`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
