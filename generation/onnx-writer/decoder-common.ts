/**
 * The parts every decoder emitter shares, in the Hugging Face optimum layout: the graph I/O
 * (input_ids, attention_mask, position_ids, past_key_values.N.key/value → logits, present.N.key/value),
 * the additive attention bias (causal by cache index, ANDed with attention_mask, so left padding
 * works), multi-head attention with a KV cache and grouped-query heads, and weight sources.
 */
import { Rng } from '../training/rng.js';
import { GraphBuilder } from './graph.js';

/** Shape facts of a decoder. */
export interface DecoderShape {
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  vocab: number;
  maxPositions: number;
}

/** How weights are initialised when drawn at random. */
export type WeightInit = 'normal' | 'ones' | 'zeros';

/**
 * Supplies a weight by its Hugging Face name. Linear weights are asked for as [in, out] (the MatMul
 * layout ONNX exports store), embeddings as [rows, hidden].
 */
export type WeightSource = (name: string, dims: number[], init: WeightInit) => Float32Array;

/** Seeded random weights as transformers initialises them: N(0, std) matrices, ones for norms, zeros for biases. */
export function randomWeights(seed: number, std = 0.02): WeightSource {
  const rng = new Rng(seed);
  return (_name, dims, init) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    if (init === 'ones') out.fill(1);
    else if (init === 'normal') {
      // Box–Muller gives two normals per pair of uniforms.
      for (let i = 0; i < n; i += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - rng.next())) * std;
        const a = 2 * Math.PI * rng.next();
        out[i] = r * Math.cos(a);
        if (i + 1 < n) out[i + 1] = r * Math.sin(a);
      }
    }
    return out;
  };
}

/** Options of a decoder graph. */
export interface DecoderOptions {
  /**
   * false emits no past_key_values inputs, like optimum's decoder_model.onnx: attention covers only the
   * tokens fed, and present.N.key/value are those tokens' K/V. Default true.
   */
  pastInputs?: boolean;
}

/** The graph's named inputs (`past` is empty for a graph without past inputs). */
export interface DecoderIo {
  ids: string;
  mask: string;
  positions: string;
  past: Array<{ key: string; value: string }>;
}

/** Declares the optimum inputs (the outputs are declared as they are produced). */
export function declareInputs(
  g: GraphBuilder,
  s: DecoderShape,
  options: DecoderOptions = {},
): DecoderIo {
  const ids = g.input({
    name: 'input_ids',
    type: 'int64',
    shape: ['batch_size', 'sequence_length'],
  });
  const mask = g.input({
    name: 'attention_mask',
    type: 'int64',
    shape: ['batch_size', 'total_sequence_length'],
  });
  const positions = g.input({
    name: 'position_ids',
    type: 'int64',
    shape: ['batch_size', 'sequence_length'],
  });
  const past =
    options.pastInputs === false
      ? []
      : Array.from({ length: s.layers }, (_, i) => ({
          key: g.input({
            name: `past_key_values.${i}.key`,
            type: 'float32',
            shape: ['batch_size', s.kvHeads, 'past_sequence_length', s.headDim],
          }),
          value: g.input({
            name: `past_key_values.${i}.value`,
            type: 'float32',
            shape: ['batch_size', s.kvHeads, 'past_sequence_length', s.headDim],
          }),
        }));
  return { ids, mask, positions, past };
}

/**
 * The additive bias [batch, 1, seq, total]: 0 where query i (cache index past + i) may see key j
 * (j ≤ past + i and attention_mask[j] = 1), −1e9 elsewhere; a fully masked row softmaxes to uniform.
 */
export function attentionBias(g: GraphBuilder, io: DecoderIo): string {
  const seq = g.op('Shape', [io.ids], { start: 1, end: 2 });
  // Without past inputs the cache is always empty: queries start at index 0.
  const past = io.past.length ? g.op('Shape', [io.past[0].key], { start: 2, end: 3 }) : g.ints([0]);
  const total = g.op('Add', [past, seq]);
  const zero = g.ints([0], []);
  const one = g.ints([1], []);
  const axis0 = g.ints([0]);
  const queries = g.op('Range', [
    g.op('Squeeze', [past, axis0]),
    g.op('Squeeze', [total, axis0]),
    one,
  ]);
  const keys = g.op('Range', [zero, g.op('Squeeze', [total, axis0]), one]);
  const causal = g.op('LessOrEqual', [
    g.op('Unsqueeze', [keys, g.ints([0])]),
    g.op('Unsqueeze', [queries, g.ints([1])]),
  ]);
  const padding = g.op('Unsqueeze', [g.op('Cast', [io.mask], { to: 9 }), g.ints([1, 2])]);
  const allowed = g.op('And', [causal, padding]);
  return g.op('Where', [allowed, g.floats([0]), g.floats([-1e9])]);
}

/** [b, s, heads·dim] → [b, heads, s, dim]. */
export function splitHeads(g: GraphBuilder, x: string, heads: number, dim: number): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, heads, dim])])], {
    perm: [0, 2, 1, 3],
  });
}

/**
 * Scaled dot-product attention over the cache: appends k, v to layer `layer`'s past, if the graph has
 * one (graph outputs present.N.key/value), repeats KV heads for grouped-query attention, and returns [b, s, heads·dim].
 */
export function attention(
  g: GraphBuilder,
  s: DecoderShape,
  io: DecoderIo,
  layer: number,
  q: string,
  k: string,
  v: string,
  bias: string,
): string {
  const past = io.past[layer];
  // Without a past the new K/V are the whole cache; g.output names them present.N.* through an Identity.
  const keys = past ? g.op('Concat', [past.key, k], { axis: 2 }, `present.${layer}.key`) : k;
  const values = past ? g.op('Concat', [past.value, v], { axis: 2 }, `present.${layer}.value`) : v;
  const cacheShape = ['batch_size', s.kvHeads, 'total_sequence_length', s.headDim];
  g.output({ name: `present.${layer}.key`, type: 'float32', shape: cacheShape }, keys);
  g.output({ name: `present.${layer}.value`, type: 'float32', shape: cacheShape }, values);
  const group = s.heads / s.kvHeads;
  const repeat = (x: string) =>
    group === 1
      ? x
      : g.op('Reshape', [
          g.op('Expand', [g.op('Unsqueeze', [x, g.ints([2])]), g.ints([1, 1, group, 1, 1])]),
          g.ints([0, s.heads, -1, s.headDim]),
        ]);
  const scaled = g.op('Mul', [q, g.floats([1 / Math.sqrt(s.headDim)])]);
  const scores = g.op('Add', [
    g.op('MatMul', [scaled, g.op('Transpose', [repeat(keys)], { perm: [0, 1, 3, 2] })]),
    bias,
  ]);
  const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), repeat(values)]);
  return g.op('Reshape', [
    g.op('Transpose', [context], { perm: [0, 2, 1, 3] }),
    g.ints([0, 0, s.heads * s.headDim]),
  ]);
}
