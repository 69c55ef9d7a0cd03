/**
 * textgen's fused decoder graph (ONNX Runtime contrib ops) with a zero-copy KV signature. The KV
 * cache lives in the caller's memory and is fed as inputs that the graph only reads; each run outputs
 * the logits of the last `num_logits_to_keep` positions and the new tokens' keys and values, which
 * the caller writes into its cache. Nothing per step is proportional to the cache except the
 * attention reads themselves.
 *
 * I/O: input_ids, position_ids [batch, seq] int64; attention_mask [batch, cached + seq] int64 (one bit
 * per fed cache slot, then per new token; 0 = never attend, so unused capacity and left padding are
 * masked); num_logits_to_keep int64 scalar; cache.N.key / cache.N.value float32 [batch, kvHeads,
 * cached, headDim] → logits [batch, keep, vocab], cache_new.N.key / cache_new.N.value [batch,
 * kvHeads, seq, headDim] (keys after RoPE).
 *
 * Kernels: RotaryEmbedding (rotate-half), SkipSimplifiedLayerNormalization / SkipLayerNormalization
 * for each residual + norm pair, QuickGelu (SiLU) and FastGelu, fused q|k|v and gate|up products,
 * FusedMatMul(transB) for attention scores and the tied head.
 */
import { ModelError } from '../errors.js';
import { GraphBuilder } from './graph.js';
import type { WeightSource } from './decoder-common.js';
import { ropeInverseFrequencies } from './decoder-spec.js';
import {
  attentionContext,
  cachedAttention,
  toHeads,
  WeightEmitter,
  type AttentionContext,
  type AttentionShape,
  type FusedDtype,
} from './fused-blocks.js';
import type { Gpt2Shape, LlamaShape } from './llama-gpt2.js';

export type { FusedDtype } from './fused-blocks.js';

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
  newKey: (layer: number) => `cache_new.${layer}.key`,
  newValue: (layer: number) => `cache_new.${layer}.value`,
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
  const emit = new WeightEmitter(g, weights, options.dtype);
  const ctx = attentionContext(g, spec, io.ids, io.mask, io.cache[0].key);
  const hidden =
    spec.arch === 'llama' ? llamaBody(emit, spec, io, ctx) : gpt2Body(emit, spec, io, ctx);
  // Only the last `keep` positions reach the head: decode steps and prefill compute one row of logits.
  const start = g.op('Neg', [g.op('Unsqueeze', [io.keep, g.ints([0])])]);
  const kept = g.op('Slice', [hidden.x, start, g.ints([Number.MAX_SAFE_INTEGER]), g.ints([1])]);
  g.output(
    { name: FUSED_IO.logits, type: 'float32', shape: ['batch_size', 'kept', spec.vocab] },
    headLogits(emit, kept, hidden.head),
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
  const keep = g.input({ name: FUSED_IO.keep, type: 'int64', shape: [] });
  const cacheShape = ['batch_size', s.kvHeads, 'cache_length', s.headDim];
  const cache = Array.from({ length: s.layers }, (_, l) => ({
    key: g.input({ name: FUSED_IO.cacheKey(l), type: 'float32', shape: cacheShape }),
    value: g.input({ name: FUSED_IO.cacheValue(l), type: 'float32', shape: cacheShape }),
  }));
  return { ids, positions, mask, keep, cache };
}

/** Declares a layer's new K/V outputs. */
function newKv(g: GraphBuilder, s: AttentionShape, layer: number, k: string, v: string): void {
  const shape = ['batch_size', s.kvHeads, 'sequence_length', s.headDim];
  g.output({ name: FUSED_IO.newKey(layer), type: 'float32', shape }, k);
  g.output({ name: FUSED_IO.newValue(layer), type: 'float32', shape }, v);
}

/** The final hidden states and how the head reads its weights. */
interface BodyResult {
  x: string;
  head: { tied: string } | { weight: Float32Array; name: string; inDim: number; outDim: number };
}

/** The head: x·Eᵀ for a tied embedding, else x·W. */
function headLogits(emit: WeightEmitter, x: string, head: BodyResult['head']): string {
  const out = FUSED_IO.logits;
  if ('tied' in head) return emit.matmulTransposed(x, head.tied, out);
  return emit.matmul(x, head.name, head.weight, head.inDim, head.outDim, out);
}

/** cos and sin caches [maxPositions, headDim / 2] for rotate-half RoPE (RotaryEmbedding's layout). */
function ropeCaches(s: LlamaShape): { cos: Float32Array; sin: Float32Array } {
  const half = s.headDim / 2;
  const inv = ropeInverseFrequencies(s.headDim, s.ropeTheta, s.ropeScaling);
  const cos = new Float32Array(s.maxPositions * half);
  const sin = new Float32Array(s.maxPositions * half);
  for (let p = 0; p < s.maxPositions; p++)
    for (let i = 0; i < half; i++) {
      cos[p * half + i] = Math.cos(p * inv[i]);
      sin[p * half + i] = Math.sin(p * inv[i]);
    }
  return { cos, sin };
}

function llamaBody(
  emit: WeightEmitter,
  s: LlamaShape,
  io: FusedIo,
  ctx: AttentionContext,
): BodyResult {
  const g = emit.g;
  const eps = { float: s.rmsNormEps };
  const embed = emit.plain('model.embed_tokens.weight', [s.vocab, s.hidden]);
  let x = g.op('Gather', [embed, io.ids], { axis: 0 });
  const tables = ropeCaches(s);
  const half = s.headDim / 2;
  const cos = g.weight('rope.cos', { dims: [s.maxPositions, half], data: tables.cos });
  const sin = g.weight('rope.sin', { dims: [s.maxPositions, half], data: tables.sin });
  const rope = (t: string) =>
    g.contrib('RotaryEmbedding', [t, io.positions, cos, sin], 1, { interleaved: 0 })[0];
  const qd = s.heads * s.headDim;
  const kvd = s.kvHeads * s.headDim;
  let h = g.op(
    'SimplifiedLayerNormalization',
    [x, emit.plain('model.layers.0.input_layernorm.weight', [s.hidden], 'ones')],
    { axis: -1, epsilon: eps },
  );
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    const a = `${p}.self_attn`;
    let qkv = emit.linear(
      h,
      `${a}.qkv_proj.weight`,
      [
        { name: `${a}.q_proj.weight`, out: qd },
        { name: `${a}.k_proj.weight`, out: kvd },
        { name: `${a}.v_proj.weight`, out: kvd },
      ],
      s.hidden,
    );
    if (s.qkvBias)
      qkv = g.op('Add', [
        qkv,
        g.op(
          'Concat',
          [
            emit.bias(`${a}.q_proj.bias`, qd),
            emit.bias(`${a}.k_proj.bias`, kvd),
            emit.bias(`${a}.v_proj.bias`, kvd),
          ],
          { axis: 0 },
        ),
      ]);
    const parts = g.opN('Split', [qkv, g.ints([qd, kvd, kvd])], 3, { axis: -1 });
    let [q, k] = parts;
    const v = parts[2];
    if (s.qkNorm) {
      const headNorm = (t: string, name: string, heads: number) =>
        g.op('Reshape', [
          g.op(
            'SimplifiedLayerNormalization',
            [
              g.op('Reshape', [t, g.ints([0, 0, heads, s.headDim])]),
              emit.plain(name, [s.headDim], 'ones'),
            ],
            { axis: -1, epsilon: eps },
          ),
          g.ints([0, 0, heads * s.headDim]),
        ]);
      q = headNorm(q, `${a}.q_norm.weight`, s.heads);
      k = headNorm(k, `${a}.k_norm.weight`, s.kvHeads);
    }
    q = rope(q);
    const kNew = toHeads(g, rope(k), s.kvHeads, s.headDim, FUSED_IO.newKey(l));
    const vNew = toHeads(g, v, s.kvHeads, s.headDim, FUSED_IO.newValue(l));
    newKv(g, s, l, kNew, vNew);
    const cache = io.cache[l];
    const attn = cachedAttention(g, s, ctx, q, kNew, vNew, cache.key, cache.value);
    const o = emit.linear(
      attn,
      `${a}.o_proj.weight`,
      [{ name: `${a}.o_proj.weight`, out: s.hidden }],
      qd,
    );
    const post = emit.plain(`${p}.post_attention_layernorm.weight`, [s.hidden], 'ones');
    const [h2, , , sum] = g.contrib(
      'SkipSimplifiedLayerNormalization',
      [o, x, post],
      4,
      { epsilon: eps },
      [`${p}.post_norm`, '', '', `${p}.attn_residual`],
    );
    x = sum;
    const gateUp = emit.linear(
      h2,
      `${p}.mlp.gate_up_proj.weight`,
      [
        { name: `${p}.mlp.gate_proj.weight`, out: s.intermediate },
        { name: `${p}.mlp.up_proj.weight`, out: s.intermediate },
      ],
      s.hidden,
    );
    const [gate, up] = g.opN('Split', [gateUp, g.ints([s.intermediate, s.intermediate])], 2, {
      axis: -1,
    });
    const act = g.op('Mul', [g.contrib('QuickGelu', [gate], 1, { alpha: { float: 1 } })[0], up]);
    const down = emit.linear(
      act,
      `${p}.mlp.down_proj.weight`,
      [{ name: `${p}.mlp.down_proj.weight`, out: s.hidden }],
      s.intermediate,
    );
    // The next norm (the next layer's input norm, or the final one) adds this layer's MLP residual.
    const nextNorm =
      l + 1 < s.layers ? `model.layers.${l + 1}.input_layernorm.weight` : 'model.norm.weight';
    const [normed, , , next] = g.contrib(
      'SkipSimplifiedLayerNormalization',
      [down, x, emit.plain(nextNorm, [s.hidden], 'ones')],
      4,
      { epsilon: eps },
      [`${p}.next_norm`, '', '', `${p}.mlp_residual`],
    );
    h = normed;
    x = next;
  }
  if (s.tieEmbeddings) return { x: h, head: { tied: embed } };
  return {
    x: h,
    head: {
      name: 'lm_head.weight',
      weight: emit.source('lm_head.weight', [s.hidden, s.vocab], 'normal'),
      inDim: s.hidden,
      outDim: s.vocab,
    },
  };
}

function gpt2Body(
  emit: WeightEmitter,
  s: Gpt2Shape,
  io: FusedIo,
  ctx: AttentionContext,
): BodyResult {
  const g = emit.g;
  const eps = { float: s.layerNormEps };
  const width = s.heads * s.headDim;
  const wte = emit.plain('transformer.wte.weight', [s.vocab, s.hidden]);
  const wpe = emit.plain('transformer.wpe.weight', [s.maxPositions, s.hidden]);
  let x = g.op('Add', [
    g.op('Gather', [wte, io.ids], { axis: 0 }),
    g.op('Gather', [wpe, io.positions], { axis: 0 }),
  ]);
  const norm = (name: string) => [
    emit.plain(`${name}.weight`, [s.hidden], 'ones'),
    emit.plain(`${name}.bias`, [s.hidden], 'zeros'),
  ];
  let h = g.op('LayerNormalization', [x, ...norm('transformer.h.0.ln_1')], {
    axis: -1,
    epsilon: eps,
  });
  for (let l = 0; l < s.layers; l++) {
    const p = `transformer.h.${l}`;
    const qkv = g.op('Add', [
      emit.linear(
        h,
        `${p}.attn.c_attn.weight`,
        [{ name: `${p}.attn.c_attn.weight`, out: 3 * width }],
        s.hidden,
      ),
      emit.bias(`${p}.attn.c_attn.bias`, 3 * width),
    ]);
    const [q, k, v] = g.opN('Split', [qkv, g.ints([width, width, width])], 3, { axis: -1 });
    const kNew = toHeads(g, k, s.heads, s.headDim, FUSED_IO.newKey(l));
    const vNew = toHeads(g, v, s.heads, s.headDim, FUSED_IO.newValue(l));
    newKv(g, s, l, kNew, vNew);
    const attn = cachedAttention(g, s, ctx, q, kNew, vNew, io.cache[l].key, io.cache[l].value);
    const o = emit.linear(
      attn,
      `${p}.attn.c_proj.weight`,
      [{ name: `${p}.attn.c_proj.weight`, out: s.hidden }],
      width,
    );
    const oBias = emit.bias(`${p}.attn.c_proj.bias`, s.hidden);
    const [h2, , , sum] = g.contrib(
      'SkipLayerNormalization',
      [o, x, ...norm(`${p}.ln_2`), oBias],
      4,
      { epsilon: eps },
      [`${p}.ln_2.out`, '', '', `${p}.attn_residual`],
    );
    x = sum;
    const fc = g.contrib(
      'FastGelu',
      [
        emit.linear(
          h2,
          `${p}.mlp.c_fc.weight`,
          [{ name: `${p}.mlp.c_fc.weight`, out: s.inner }],
          s.hidden,
        ),
        emit.bias(`${p}.mlp.c_fc.bias`, s.inner),
      ],
      1,
    )[0];
    const proj = emit.linear(
      fc,
      `${p}.mlp.c_proj.weight`,
      [{ name: `${p}.mlp.c_proj.weight`, out: s.hidden }],
      s.inner,
    );
    const projBias = emit.bias(`${p}.mlp.c_proj.bias`, s.hidden);
    const next = l + 1 < s.layers ? `transformer.h.${l + 1}.ln_1` : 'transformer.ln_f';
    const [normed, , , residual] = g.contrib(
      'SkipLayerNormalization',
      [proj, x, ...norm(next), projBias],
      4,
      { epsilon: eps },
      [`${p}.next_norm`, '', '', `${p}.mlp_residual`],
    );
    h = normed;
    x = residual;
  }
  return { x: h, head: { tied: wte } };
}
