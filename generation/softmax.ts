/**
 * The one softmax family of the project: softmax, log-softmax and log-sum-exp over a row of logits,
 * with the row maximum subtracted first and the sum accumulated in float64, so sampling filters,
 * beam scores, --logprobs, perplexity and the trainer's cross-entropy all compute the same function
 * the same way. A leaf: it imports nothing.
 */

/** Largest value of `x[offset, offset + length)`; −Infinity for an empty or all −Infinity row. */
export function rowMax(x: ArrayLike<number>, offset = 0, length = x.length - offset): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = offset; i < offset + length; i++) if (x[i] > max) max = x[i];
  return max;
}

/** log Σ exp(x) over `x[offset, offset + length)`, as max + log Σ exp(x − max) in float64. */
export function logSumExp(x: ArrayLike<number>, offset = 0, length = x.length - offset): number {
  const max = rowMax(x, offset, length);
  let sum = 0;
  for (let i = offset; i < offset + length; i++) sum += Math.exp(x[i] - max);
  return max + Math.log(sum);
}

/** Softmax in float64: exp(x − max) / Σ exp(x − max); −Infinity logits get probability 0. */
export function softmax(
  logits: ArrayLike<number>,
  out: Float64Array = new Float64Array(logits.length),
): Float64Array {
  const max = rowMax(logits);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < logits.length; i++) out[i] /= sum;
  return out;
}

/**
 * log_softmax as torch computes it, x − logsumexp(x), accumulated in float64 and stored in float32.
 * `out` may be `logits` itself (in place), which is what beam search does each step.
 */
export function logSoftmax(
  logits: Float32Array,
  out: Float32Array = new Float32Array(logits.length),
): Float32Array {
  const shift = logSumExp(logits);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - shift;
  return out;
}

/** log_softmax kept in float64, so tiny probabilities (typical_p's entropy) do not underflow. */
export function logSoftmax64(logits: ArrayLike<number>): Float64Array {
  const shift = logSumExp(logits);
  return Float64Array.from(logits, (x) => x - shift);
}

/**
 * Softmax of `x[offset, offset + length)` in place, each probability multiplied by `scale` (the
 * trainer's cross-entropy writes its scaled gradient this way); returns the row's log-sum-exp.
 */
export function softmaxInPlace(x: Float32Array, offset: number, length: number, scale = 1): number {
  const max = rowMax(x, offset, length);
  let sum = 0;
  for (let i = offset; i < offset + length; i++) {
    const e = Math.exp(x[i] - max);
    x[i] = e;
    sum += e;
  }
  const factor = (1 / sum) * scale;
  for (let i = offset; i < offset + length; i++) x[i] *= factor;
  return max + Math.log(sum);
}
