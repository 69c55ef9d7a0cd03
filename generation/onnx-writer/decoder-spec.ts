/**
 * Architecture features of Llama-family decoders beyond Llama 2, shared by every graph emitter (the
 * optimum-style graph transformers.js runs and textgen's fused graph) and by `textgen convert`, which
 * fills them from a Hugging Face config.json. Weights are always asked for by canonical Hugging Face
 * Llama names (`model.layers.N.self_attn.q_proj.weight` as [in, out], `...q_proj.bias`,
 * `...self_attn.q_norm.weight` [headDim]); a converter maps other families' names (Phi-3's fused
 * `qkv_proj` / `gate_up_proj`) onto them.
 */

/** Rotary embedding scaling as config.json's `rope_scaling` describes it. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositions: number;
    };

/** Optional Llama-family features; all default to off (plain Llama 2). */
export interface LlamaFeatures {
  /** Scaled rotary frequencies (Llama 3.1+ `llama3`, `linear`). */
  ropeScaling?: RopeScaling;
  /** q_proj / k_proj / v_proj carry biases (Qwen2, Qwen2.5). */
  qkvBias?: boolean;
  /** RMSNorm over head_dim on q and k before RoPE (Qwen3): `self_attn.q_norm` / `k_norm` weights. */
  qkNorm?: boolean;
  /** o_proj carries a bias (Llama `attention_bias`, Qwen3 `attention_bias`: with qkvBias). */
  oBias?: boolean;
  /** gate_proj / up_proj / down_proj carry biases (Llama `mlp_bias`). */
  mlpBias?: boolean;
}

/**
 * Inverse frequencies of rotate-half RoPE, one per pair (headDim / 2 values), with the scaling
 * Hugging Face's `ROPE_INIT_FUNCTIONS` apply (`linear` divides every frequency; `llama3` divides only
 * the low frequencies and interpolates the band between).
 */
export function ropeInverseFrequencies(
  headDim: number,
  theta: number,
  scaling?: RopeScaling,
): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / theta ** ((2 * i) / headDim);
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((f) => f / scaling.factor);
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
  const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
  const highFreqWavelen = originalMaxPositions / highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highFreqWavelen) return f;
    if (wavelen > lowFreqWavelen) return f / factor;
    const smooth =
      (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}
