/**
 * textgen's fused decoder graph (ONNX Runtime contrib ops) with a zero-copy KV signature. The KV
 * cache lives in the caller's memory and is fed as inputs that the graph only reads; each run outputs
 * the logits of the last `num_logits_to_keep` positions and the new tokens' keys and values, which
 * the caller writes into its cache. Nothing per step is proportional to the cache except the
 * attention reads themselves.
 *
 * I/O: input_ids, position_ids [batch, seq] int64; attention_mask [batch, cached + seq] int64 (one bit
 * per fed cache slot, then per new token; 0 = never attend, so unused capacity and left padding are
 * masked); num_logits_to_keep int64 [1]; cache.N.key / cache.N.value float32 [batch, kvHeads,
 * cached, headDim] → logits [batch, keep, vocab], cache_new [2·layers·batch, kvHeads, seq, headDim]:
 * layer 0's new keys (after RoPE) for every row, its new values, then layer 1's, ... (one output, so
 * a step returns two tensors whatever the depth: each fetched output costs a few µs in the binding).
 *
 * Kernels: RotaryEmbedding (rotate-half), SkipSimplifiedLayerNormalization / SkipLayerNormalization
 * for each residual + norm pair (biases of o_proj / down_proj / c_proj folded into them), QuickGelu
 * (SiLU) and FastGelu, fused q|k|v and gate|up products, FusedMatMul(transB) for attention scores;
 * weights in fp32, fp16 (widened once at load) or q4/q8 (MatMulNBits, the tied head included).
 */
import { ModelError } from '../errors.js';
import { GraphBuilder } from './graph.js';
import type { WeightSource } from './decoder-common.js';
import { ropeInverseFrequencies } from './decoder-spec.js';
import {
  attentionContext,
  cachedAttention,
  toHeads,
  type AttentionContext,
} from './fused-blocks.js';
import { FusedWeights } from './fused-weights.js';
import type { Gpt2Shape, LlamaShape } from './llama-gpt2.js';
import type { WeightDtype } from './weight-emit.js';

/** Weight storage of a fused graph (fp16: float16 weights widened at load; q4/q8: MatMulNBits). */
export type FusedDtype = WeightDtype;

/** Which file a fused graph is written to: onnx/<FUSED_STEM><dtype suffix>.onnx. */
export { FUSED_STEM } from '../model/fused-file.js';

/** The fused graph's I/O names (the runtime's zero-copy layout recognises the graph by them). */
export const FUSED_IO = {
  ids: 'input_ids',
  positions: 'position_ids',
  mask: 'attention_mask',
  keep: 'num_logits_to_keep',
  logits: 'logits',
  cacheKey: (layer: number) => `cache.${layer}.key`,
  cacheValue: (layer: number) => `cache.${layer}.value`,
  /** Every layer's new keys and values in one tensor [2·layers·batch, kvHeads, seq, headDim]. */
  newKv: 'cache_new',
} as const;

/** A model the fused builder writes. */
export type FusedSpec = ({ arch: 'llama' } & LlamaShape) | ({ arch: 'gpt2' } & Gpt2Shape);

/** The opset of the default domain (contrib ops are com.microsoft version 1). */
export const FUSED_OPSET = 17;

/** textgen's fused decoder (zero-copy KV signature) for a Llama-family or GPT-2 model. */
export function buildFusedDecoder(
  spec: FusedSpec,
  weights: WeightSource,
  options: { dtype: FusedDtype },
): GraphBuilder {
  if (spec.heads % spec.kvHeads !== 0)
    throw new ModelError(
      `${spec.heads} attention heads are not a multiple of ${spec.kvHeads} key/value heads.`,
    );
  const g = new GraphBuilder(`textgen_${spec.arch}`);
  const io = declareIo(g, spec);
  const w = new FusedWeights(g, weights, options.dtype);
  const ctx = attentionContext(g, spec, io.ids, io.mask, io.cache[0].key);
  const body = spec.arch === 'llama' ? llamaBody(w, spec, io, ctx) : gpt2Body(w, spec, io, ctx);
  newKvOutput(g, spec, body.newKv);
  // Only the last `keep` positions reach the head: decode steps and prefill compute one row of logits.
  const start = g.op('Neg', [io.keep]);
  const kept = g.op('Slice', [body.x, start, g.ints([Number.MAX_SAFE_INTEGER]), g.ints([1])]);
  g.output(
    { name: FUSED_IO.logits, type: 'float32', shape: ['batch_size', 'kept', spec.vocab] },
    body.head(kept),
  );
  return g;
}

interface FusedIo {
  ids: string;
  positions: string;
  mask: string;
  keep: string;
  cache: Array<{ key: string; value: string }>;
}

function declareIo(g: GraphBuilder, s: FusedSpec): FusedIo {
  const seq = ['batch_size', 'sequence_length'];
  const ids = g.input({ name: FUSED_IO.ids, type: 'int64', shape: seq });
  const positions = g.input({ name: FUSED_IO.positions, type: 'int64', shape: seq });
  const mask = g.input({
    name: FUSED_IO.mask,
    type: 'int64',
    shape: ['batch_size', 'total_sequence_length'],
  });
  const keep = g.input({ name: FUSED_IO.keep, type: 'int64', shape: [1] });
  const cacheShape = ['batch_size', s.kvHeads, 'cache_length', s.headDim];
  const cache = Array.from({ length: s.layers }, (_, l) => ({
    key: g.input({ name: FUSED_IO.cacheKey(l), type: 'float32', shape: cacheShape }),
    value: g.input({ name: FUSED_IO.cacheValue(l), type: 'float32', shape: cacheShape }),
  }));
  return { ids, positions, mask, keep, cache };
}

/** Declares the one output holding every layer's new K/V. */
function newKvOutput(g: GraphBuilder, s: FusedSpec, parts: string[]): void {
  g.output(
    {
      name: FUSED_IO.newKv,
      type: 'float32',
      shape: [`kv_rows`, s.kvHeads, 'sequence_length', s.headDim],
    },
    g.op('Concat', parts, { axis: 0 }, FUSED_IO.newKv),
  );
}

/** The final normed hidden states, the head that turns them into logits, every layer's new K/V. */
interface BodyResult {
  x: string;
  head: (x: string) => string;
  newKv: string[];
}

/**
 * cos and sin caches [maxPositions, headDim / 2] for rotate-half RoPE (RotaryEmbedding's layout),
 * computed as Hugging Face does in float32: angle = fp32(position × fp32 inverse frequency).
 */
function ropeCaches(s: LlamaShape): { cos: Float32Array; sin: Float32Array } {
  const half = s.headDim / 2;
  const inv = Float32Array.from(ropeInverseFrequencies(s.headDim, s.ropeTheta, s.ropeScaling));
  const cos = new Float32Array(s.maxPositions * half);
  const sin = new Float32Array(s.maxPositions * half);
  for (let p = 0; p < s.maxPositions; p++)
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * inv[i]);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  return { cos, sin };
}

/** SkipSimplifiedLayerNormalization: [norm(x + residual + bias), x + residual + bias]. */
function skipRmsNorm(
  g: GraphBuilder,
  x: string,
  residual: string,
  weight: string,
  eps: number,
  bias?: string,
): [string, string] {
  const [normed, , , sum] = g.contrib(
    'SkipSimplifiedLayerNormalization',
    bias ? [x, residual, weight, bias] : [x, residual, weight],
    4,
    { epsilon: { float: eps } },
    [`${x}_normed`, '', '', `${x}_residual`],
  );
  return [normed, sum];
}

function llamaBody(w: FusedWeights, s: LlamaShape, io: FusedIo, ctx: AttentionContext): BodyResult {
  const g = w.g;
  const eps = s.rmsNormEps;
  const embed = w.embedding('model.embed_tokens.weight', s.vocab, s.hidden);
  let x = embed.lookup(io.ids);
  const tables = ropeCaches(s);
  const half = s.headDim / 2;
  const cos = g.weight('rope.cos', { dims: [s.maxPositions, half], data: tables.cos });
  const sin = g.weight('rope.sin', { dims: [s.maxPositions, half], data: tables.sin });
  const rope = (t: string) =>
    g.contrib('RotaryEmbedding', [t, io.positions, cos, sin], 1, { interleaved: 0 })[0];
  const qd = s.heads * s.headDim;
  const kvd = s.kvHeads * s.headDim;
  const norm = (name: string) => w.vector(name, [s.hidden], 'ones');
  const newKv: string[] = [];
  let h = g.op('SimplifiedLayerNormalization', [x, norm('model.layers.0.input_layernorm.weight')], {
    axis: -1,
    epsilon: { float: eps },
  });
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    const a = `${p}.self_attn`;
    const proj = (name: string, out: number) => ({
      weight: `${a}.${name}_proj.weight`,
      out,
      bias: s.qkvBias ? `${a}.${name}_proj.bias` : undefined,
    });
    const qkv = w.linear(
      h,
      `${a}.qkv_proj.weight`,
      [proj('q', qd), proj('k', kvd), proj('v', kvd)],
      s.hidden,
    );
    const parts = g.opN('Split', [qkv, g.ints([qd, kvd, kvd])], 3, { axis: -1 });
    let [q, k] = parts;
    if (s.qkNorm) {
      const headNorm = (t: string, name: string, heads: number) =>
        g.op('Reshape', [
          g.op(
            'SimplifiedLayerNormalization',
            [
              g.op('Reshape', [t, g.ints([0, 0, heads, s.headDim])]),
              w.vector(name, [s.headDim], 'ones'),
            ],
            { axis: -1, epsilon: { float: eps } },
          ),
          g.ints([0, 0, heads * s.headDim]),
        ]);
      q = headNorm(q, `${a}.q_norm.weight`, s.heads);
      k = headNorm(k, `${a}.k_norm.weight`, s.kvHeads);
    }
    const kNew = toHeads(g, rope(k), s.kvHeads, s.headDim);
    const vNew = toHeads(g, parts[2], s.kvHeads, s.headDim);
    newKv.push(kNew, vNew);
    const cache = io.cache[l];
    const attn = cachedAttention(g, s, ctx, rope(q), kNew, vNew, cache.key, cache.value);
    const o = w.linear(
      attn,
      `${a}.o_proj.weight`,
      [{ weight: `${a}.o_proj.weight`, out: s.hidden }],
      qd,
    );
    // o_proj's bias goes into the skip norm, which adds it to the residual sum.
    const oBias = s.oBias ? w.bias(`${a}.o_proj.bias`, s.hidden) : undefined;
    let h2: string;
    [h2, x] = skipRmsNorm(g, o, x, norm(`${p}.post_attention_layernorm.weight`), eps, oBias);
    const mlp = (name: string, out: number) => ({
      weight: `${p}.mlp.${name}.weight`,
      out,
      bias: s.mlpBias ? `${p}.mlp.${name}.bias` : undefined,
    });
    const gateUp = w.linear(
      h2,
      `${p}.mlp.gate_up_proj.weight`,
      [mlp('gate_proj', s.intermediate), mlp('up_proj', s.intermediate)],
      s.hidden,
    );
    const [gate, up] = g.opN('Split', [gateUp, g.ints([s.intermediate, s.intermediate])], 2, {
      axis: -1,
    });
    const act = g.op('Mul', [g.contrib('QuickGelu', [gate], 1, { alpha: { float: 1 } })[0], up]);
    const down = w.linear(
      act,
      `${p}.mlp.down_proj.weight`,
      [{ weight: `${p}.mlp.down_proj.weight`, out: s.hidden }],
      s.intermediate,
    );
    const downBias = s.mlpBias ? w.bias(`${p}.mlp.down_proj.bias`, s.hidden) : undefined;
    // The next norm (the next layer's input norm, or the final one) adds this layer's MLP residual.
    const next =
      l + 1 < s.layers ? `model.layers.${l + 1}.input_layernorm.weight` : 'model.norm.weight';
    [h, x] = skipRmsNorm(g, down, x, norm(next), eps, downBias);
  }
  if (s.tieEmbeddings) return { x: h, head: (y) => embed.head(y, FUSED_IO.logits), newKv };
  return {
    x: h,
    newKv,
    head: (y) =>
      w.linear(y, 'lm_head.weight', [{ weight: 'lm_head.weight', out: s.vocab }], s.hidden),
  };
}

function gpt2Body(w: FusedWeights, s: Gpt2Shape, io: FusedIo, ctx: AttentionContext): BodyResult {
  const g = w.g;
  const eps = { float: s.layerNormEps };
  const width = s.heads * s.headDim;
  const wte = w.embedding('transformer.wte.weight', s.vocab, s.hidden);
  const wpe = w.table('transformer.wpe.weight', s.maxPositions, s.hidden);
  let x = g.op('Add', [wte.lookup(io.ids), wpe(io.positions)]);
  const norm = (name: string) => [
    w.vector(`${name}.weight`, [s.hidden], 'ones'),
    w.vector(`${name}.bias`, [s.hidden], 'zeros'),
  ];
  const skipNorm = (y: string, residual: string, name: string, bias: string, tag: string) => {
    const [normed, , , sum] = g.contrib(
      'SkipLayerNormalization',
      [y, residual, ...norm(name), bias],
      4,
      { epsilon: eps },
      [`${tag}.normed`, '', '', `${tag}.residual`],
    );
    return [normed, sum];
  };
  const newKv: string[] = [];
  let h = g.op('LayerNormalization', [x, ...norm('transformer.h.0.ln_1')], {
    axis: -1,
    epsilon: eps,
  });
  const linear = (y: string, name: string, inDim: number, out: number) =>
    w.linear(y, `${name}.weight`, [{ weight: `${name}.weight`, out }], inDim);
  for (let l = 0; l < s.layers; l++) {
    const p = `transformer.h.${l}`;
    const qkv = g.op('Add', [
      linear(h, `${p}.attn.c_attn`, s.hidden, 3 * width),
      w.bias(`${p}.attn.c_attn.bias`, 3 * width),
    ]);
    const [q, k, v] = g.opN('Split', [qkv, g.ints([width, width, width])], 3, { axis: -1 });
    const kNew = toHeads(g, k, s.heads, s.headDim);
    const vNew = toHeads(g, v, s.heads, s.headDim);
    newKv.push(kNew, vNew);
    const attn = cachedAttention(g, s, ctx, q, kNew, vNew, io.cache[l].key, io.cache[l].value);
    const o = linear(attn, `${p}.attn.c_proj`, width, s.hidden);
    let h2: string;
    [h2, x] = skipNorm(o, x, `${p}.ln_2`, w.bias(`${p}.attn.c_proj.bias`, s.hidden), `${p}.attn`);
    const fc = g.contrib(
      'FastGelu',
      [linear(h2, `${p}.mlp.c_fc`, s.hidden, s.inner), w.bias(`${p}.mlp.c_fc.bias`, s.inner)],
      1,
    )[0];
    const proj = linear(fc, `${p}.mlp.c_proj`, s.inner, s.hidden);
    const next = l + 1 < s.layers ? `transformer.h.${l + 1}.ln_1` : 'transformer.ln_f';
    [h, x] = skipNorm(proj, x, next, w.bias(`${p}.mlp.c_proj.bias`, s.hidden), `${p}.mlp`);
  }
  return { x: h, head: (y) => wte.head(y, FUSED_IO.logits), newKv };
}
