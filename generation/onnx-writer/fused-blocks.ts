/**
 * Attention of textgen's fused decoder graph: it reads the KV cache straight from fed inputs (no
 * Concat of past and new keys, no repeated KV heads, no transposed copy of the cache).
 */
import type { GraphBuilder } from './graph.js';

/** Shape facts attention needs. */
export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** Per-step values every layer's attention shares, computed once. */
export interface AttentionContext {
  /** The additive bias [batch, 1, group·seq, cached + seq] (rows repeated per query head of a group). */
  bias: string;
  /** [cached] (as a 1-element vector): where the new tokens' probabilities start. */
  cached: string;
}

/**
 * The per-step attention values: the bias lets query i (cache index cached + i) see cache slot t when
 * attention_mask[t] = 1 and t ≤ cached + i (masked slots get −1e9, so a fully masked row softmaxes to
 * uniform, never NaN). It is tiled once per step to the grouped query rows, so every layer adds it to
 * its 4-D scores directly.
 */
export function attentionContext(
  g: GraphBuilder,
  s: AttentionShape,
  ids: string,
  mask: string,
  firstCache: string,
): AttentionContext {
  const seq = g.op('Shape', [ids], { start: 1, end: 2 });
  const cached = g.op('Shape', [firstCache], { start: 2, end: 3 });
  const total = g.op('Squeeze', [g.op('Add', [cached, seq]), g.ints([0])]);
  const one = g.ints([1], []);
  const queries = g.op('Range', [g.op('Squeeze', [cached, g.ints([0])]), total, one]);
  const keys = g.op('Range', [g.ints([0], []), total, one]);
  const causal = g.op('LessOrEqual', [
    g.op('Unsqueeze', [keys, g.ints([0])]),
    g.op('Unsqueeze', [queries, g.ints([1])]),
  ]);
  const padding = g.op('Unsqueeze', [g.op('Cast', [mask], { to: 9 }), g.ints([1])]);
  const allowed = g.op('And', [causal, padding]);
  const bias = g.op('Unsqueeze', [
    g.op('Where', [allowed, g.floats([0]), g.floats([-1e9])]),
    g.ints([1]),
  ]);
  const group = s.heads / s.kvHeads;
  return {
    bias: group === 1 ? bias : g.op('Tile', [bias, g.ints([1, 1, group, 1])]),
    cached,
  };
}

/** [b, s, heads·dim] → [b, heads, s, dim] (named `output` when given: graph outputs need no Identity). */
export function toHeads(
  g: GraphBuilder,
  x: string,
  heads: number,
  dim: number,
  output?: string,
): string {
  return g.op(
    'Transpose',
    [g.op('Reshape', [x, g.ints([0, 0, heads, dim])])],
    { perm: [0, 2, 1, 3] },
    output,
  );
}

/**
 * Attention of the new tokens over the fed cache and themselves. q [b, s, heads·dim] (rotated), kNew
 * and vNew [b, kvHeads, s, dim] (the graph's new-K/V outputs), cacheK and cacheV [b, kvHeads, cached,
 * dim] read in place. The query heads of one KV head are stacked as rows ([b, kvHeads, group·s, dim]),
 * so no KV head is repeated; past and new keys are scored separately (scores, not keys, are
 * concatenated). Returns [b, s, heads·dim].
 */
export function cachedAttention(
  g: GraphBuilder,
  s: AttentionShape,
  ctx: AttentionContext,
  q: string,
  kNew: string,
  vNew: string,
  cacheK: string,
  cacheV: string,
): string {
  const alpha = { float: 1 / Math.sqrt(s.headDim) };
  const heads = toHeads(g, q, s.heads, s.headDim);
  const grouped =
    s.heads === s.kvHeads ? heads : g.op('Reshape', [heads, g.ints([0, s.kvHeads, -1, s.headDim])]);
  const past = g.contrib('FusedMatMul', [grouped, cacheK], 1, { transB: 1, alpha })[0];
  const fresh = g.contrib('FusedMatMul', [grouped, kNew], 1, { transB: 1, alpha })[0];
  const scores = g.op('Add', [g.op('Concat', [past, fresh], { axis: -1 }), ctx.bias]);
  const probs = g.op('Softmax', [scores], { axis: -1 });
  // Slice, not Split: ORT's Split mis-sizes its outputs when the first part is empty (no cache yet).
  const last = g.ints([-1]);
  const pPast = g.op('Slice', [probs, g.ints([0]), ctx.cached, last]);
  const pNew = g.op('Slice', [probs, ctx.cached, g.ints([Number.MAX_SAFE_INTEGER]), last]);
  const context = g.op('Add', [g.op('MatMul', [pPast, cacheV]), g.op('MatMul', [pNew, vNew])]);
  const perHead =
    s.heads === s.kvHeads
      ? context
      : g.op('Reshape', [context, g.ints([0, s.heads, -1, s.headDim])]);
  return g.op('Reshape', [
    g.op('Transpose', [perHead], { perm: [0, 2, 1, 3] }),
    g.ints([0, 0, s.heads * s.headDim]),
  ]);
}
