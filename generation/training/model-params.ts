/**
 * The Llama model's hyper-parameters and the layout of its weights in one flat float block, so that
 * the optimizer, the checkpoint and the gradient all treat the parameters as a single array.
 */
import type { Rng } from './rng.js';

/** Architecture hyper-parameters of the small Llama decoder. */
export interface LlamaConfig {
  vocabSize: number;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  ffnDim: number;
  /** Context length: the training window and max_position_embeddings. */
  maxSeqLen: number;
  ropeTheta: number;
  normEps: number;
}

/** Offsets (relative to the start of the block) of one layer's weights. Linear weights are [in, out]. */
export interface LayerLayout {
  attnNorm: number;
  wq: number;
  wk: number;
  wv: number;
  wo: number;
  ffnNorm: number;
  w1: number;
  w3: number;
  w2: number;
}

/** Offsets of every weight in the flat block and its total size. */
export interface ParamLayout {
  embed: number;
  layers: LayerLayout[];
  finalNorm: number;
  size: number;
}

/** Lays the weights out in the order embed, layers (norm, q, k, v, o, norm, gate, up, down), final norm. */
export function paramLayout(c: LlamaConfig): ParamLayout {
  let off = 0;
  const take = (n: number): number => {
    const o = off;
    off += n;
    return o;
  };
  const qd = c.nHeads * c.headDim,
    kvd = c.nKvHeads * c.headDim;
  const embed = take(c.vocabSize * c.dim);
  const layers: LayerLayout[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    layers.push({
      attnNorm: take(c.dim),
      wq: take(c.dim * qd),
      wk: take(c.dim * kvd),
      wv: take(c.dim * kvd),
      wo: take(qd * c.dim),
      ffnNorm: take(c.dim),
      w1: take(c.dim * c.ffnDim),
      w3: take(c.dim * c.ffnDim),
      w2: take(c.ffnDim * c.dim),
    });
  }
  const finalNorm = take(c.dim);
  return { embed, layers, finalNorm, size: off };
}

/** Whether the weight at `offset` is a norm gain (excluded from weight decay). */
export function normMask(c: LlamaConfig): Uint8Array {
  const layout = paramLayout(c);
  const mask = new Uint8Array(layout.size);
  for (const l of layout.layers) {
    mask.fill(1, l.attnNorm, l.attnNorm + c.dim);
    mask.fill(1, l.ffnNorm, l.ffnNorm + c.dim);
  }
  mask.fill(1, layout.finalNorm, layout.finalNorm + c.dim);
  return mask;
}

/**
 * GPT-2 style initialisation: N(0, 0.02) weights, residual output projections scaled by 1/√(2·layers),
 * norm gains 1.
 */
export function initParams(c: LlamaConfig, params: Float32Array, rng: Rng): void {
  const layout = paramLayout(c);
  const fill = (off: number, n: number, std: number): void => {
    for (let i = 0; i < n; i++) params[off + i] = rng.normal() * std;
  };
  const std = 0.02,
    outStd = 0.02 / Math.sqrt(2 * c.nLayers);
  const qd = c.nHeads * c.headDim,
    kvd = c.nKvHeads * c.headDim;
  fill(layout.embed, c.vocabSize * c.dim, std);
  for (const l of layout.layers) {
    params.fill(1, l.attnNorm, l.attnNorm + c.dim);
    fill(l.wq, c.dim * qd, std);
    fill(l.wk, c.dim * kvd, std);
    fill(l.wv, c.dim * kvd, std);
    fill(l.wo, qd * c.dim, outStd);
    params.fill(1, l.ffnNorm, l.ffnNorm + c.dim);
    fill(l.w1, c.dim * c.ffnDim, std);
    fill(l.w3, c.dim * c.ffnDim, std);
    fill(l.w2, c.ffnDim * c.dim, outStd);
  }
  params.fill(1, layout.finalNorm, layout.finalNorm + c.dim);
}

/** Matrix-multiply FLOPs of one training token (forward + backward = 3× forward), attention included. */
export function flopsPerToken(c: LlamaConfig, seqLen: number): number {
  const qd = c.nHeads * c.headDim,
    kvd = c.nKvHeads * c.headDim;
  const perLayer = c.dim * (qd + 2 * kvd) + qd * c.dim + 3 * c.dim * c.ffnDim;
  // Causal attention: on average (T+1)/2 keys per query, for scores and for the weighted sum.
  const attention = 2 * qd * ((seqLen + 1) / 2);
  const forward = 2 * (c.nLayers * (perLayer + attention) + c.vocabSize * c.dim);
  return 3 * forward;
}
