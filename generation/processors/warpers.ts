/**
 * The sampling warpers of transformers (TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper,
 * MinPLogitsWarper, TypicalLogitsWarper), used only when sampling. Probabilities are computed in
 * float64; where transformers sorts, ties are ordered by token index (a stable sort), which decides
 * which of several equal tokens fall on either side of a cut.
 */
import { logSoftmax64, softmax } from '../softmax.js';
import { FILTERED, type LogitsProcessor } from './types.js';

/** Token indices sorted by `key` ascending, ties by index ascending. */
function sortedIndices(key: ArrayLike<number>, descending = false): Uint32Array {
  const order = new Uint32Array(key.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const sign = descending ? -1 : 1;
  return order.sort((a, b) => {
    const va = key[a];
    const vb = key[b];
    if (va < vb) return -sign;
    if (va > vb) return sign;
    return a - b;
  });
}

/** TemperatureLogitsWarper: `scores / temperature` (float32 division, as torch does on float32 logits). */
export function temperatureWarper(temperature: number): LogitsProcessor {
  const t = Math.fround(temperature);
  return {
    name: 'temperature',
    apply(logits) {
      for (let i = 0; i < logits.length; i++) logits[i] = logits[i] / t;
    },
  };
}

/** The k-th largest value of `values` (1 <= k <= length), by a size-k min-heap: O(n log k). */
function kthLargest(values: Float32Array, k: number): number {
  const heap = new Float64Array(k);
  let size = 0;
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && heap[l] < heap[m]) m = l;
      if (r < size && heap[r] < heap[m]) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (size < k) {
      let j = size++;
      heap[j] = v;
      while (j > 0 && heap[(j - 1) >> 1] > heap[j]) {
        [heap[j], heap[(j - 1) >> 1]] = [heap[(j - 1) >> 1], heap[j]];
        j = (j - 1) >> 1;
      }
    } else if (v > heap[0]) {
      heap[0] = v;
      siftDown(0);
    }
  }
  return heap[0];
}

/**
 * TopKLogitsWarper: k = min(max(top_k, min_tokens_to_keep), vocab); every score strictly below the
 * k-th largest becomes −inf, so tokens tied with the k-th are all kept.
 */
export function topKWarper(topK: number, minTokensToKeep = 1): LogitsProcessor {
  const k0 = Math.max(topK, minTokensToKeep);
  return {
    name: 'top_k',
    apply(logits) {
      if (k0 >= logits.length) return;
      const threshold = kthLargest(logits, k0);
      for (let i = 0; i < logits.length; i++) if (logits[i] < threshold) logits[i] = FILTERED;
    },
  };
}

/**
 * The smallest set of most likely tokens (all ties at its edge included) whose mass reaches `mass`,
 * found by lowering a probability threshold, so the usual nucleus is sorted instead of the vocabulary.
 */
function headCandidates(probs: Float64Array, mass: number): number[] {
  let top = 0;
  for (let i = 0; i < probs.length; i++) if (probs[i] > top) top = probs[i];
  for (let t = top / 16; ; t /= 16) {
    const picked: number[] = [];
    let sum = 0;
    for (let i = 0; i < probs.length; i++) {
      if (probs[i] >= t) {
        picked.push(i);
        sum += probs[i];
      }
    }
    // The margin covers summation-order rounding, so the walk in sorted order also reaches `mass`.
    if (sum >= mass + 1e-9 || t === 0) return picked;
  }
}

/**
 * TopPLogitsWarper: sort ascending, cumulate softmax probabilities, remove tokens whose cumulative
 * probability is <= 1 − top_p, but never the last (most likely) min_tokens_to_keep. Computed from
 * the top: a token is kept iff the mass ranked above it (descending, ties by index descending, the
 * mirror of a stable ascending sort) is < top_p; only the head of the distribution is sorted.
 */
export function topPWarper(topP: number, minTokensToKeep = 1): LogitsProcessor {
  return {
    name: 'top_p',
    apply(logits) {
      const probs = softmax(logits);
      const byMassDesc = (a: number, b: number) => probs[b] - probs[a] || b - a;
      let head = headCandidates(probs, topP).sort(byMassDesc);
      if (head.length < minTokensToKeep) head = Array.from(probs.keys()).sort(byMassDesc);
      const keep = new Uint8Array(logits.length);
      let above = 0;
      for (let r = 0; r < head.length; r++) {
        if (r < minTokensToKeep || above < topP) keep[head[r]] = 1;
        above += probs[head[r]];
      }
      for (let i = 0; i < logits.length; i++) if (!keep[i]) logits[i] = FILTERED;
    },
  };
}

/**
 * MinPLogitsWarper: remove tokens with probability < min_p × (top probability); the
 * min_tokens_to_keep most likely tokens (descending sort) are always kept.
 */
export function minPWarper(minP: number, minTokensToKeep = 1): LogitsProcessor {
  return {
    name: 'min_p',
    apply(logits) {
      const probs = softmax(logits);
      let top = 0;
      for (let i = 0; i < probs.length; i++) if (probs[i] > top) top = probs[i];
      const threshold = minP * top;
      const protectedIds = new Set<number>();
      if (minTokensToKeep > 1)
        for (const id of sortedIndices(logits, true).subarray(0, minTokensToKeep))
          protectedIds.add(id);
      for (let i = 0; i < logits.length; i++) {
        if (probs[i] < threshold && !protectedIds.has(i)) logits[i] = FILTERED;
      }
    },
  };
}

/**
 * TypicalLogitsWarper (Meister et al. 2022): with log-probs ℓ and entropy H = −Σ p·ℓ (NaN terms of
 * −inf logits skipped, as nansum), sort tokens by |−ℓ − H| ascending, find the first rank whose
 * cumulative probability reaches `mass` (clamped to the last rank), and remove every token whose
 * shifted score is strictly greater than that rank's; the first min_tokens_to_keep ranks are kept.
 */
export function typicalWarper(mass: number, minTokensToKeep = 1): LogitsProcessor {
  return {
    name: 'typical_p',
    apply(logits) {
      const logProbs = logSoftmax64(logits);
      const probs = logProbs.map(Math.exp);
      let entropy = 0;
      for (let i = 0; i < probs.length; i++) if (probs[i] > 0) entropy -= probs[i] * logProbs[i];
      const shifted = logProbs.map((l) => Math.abs(-l - entropy));
      const order = sortedIndices(shifted);
      let lastInd = 0;
      let cumulative = 0;
      for (let r = 0; r < order.length; r++) {
        cumulative += probs[order[r]];
        if (cumulative < mass) lastInd++;
      }
      lastInd = Math.min(lastInd, order.length - 1);
      const cut = shifted[order[lastInd]];
      for (let r = minTokensToKeep; r < order.length; r++) {
        if (shifted[order[r]] > cut) logits[order[r]] = FILTERED;
      }
    },
  };
}
