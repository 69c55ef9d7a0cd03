/**
 * The compute kernels of the trainer. Every kernel reads and writes one flat Float32Array (the shared
 * arena) at element offsets, and computes only a slice [r0, r1) of its output rows, so the same code
 * runs on the main thread and on the worker threads of the kernel pool, each taking a slice.
 */

import { mmNN, mmNT, mmTN } from './matmul.js';
import { softmaxInPlace } from '../softmax.js';

export { mmNN, mmNT, mmTN };

/** Kernel ids, shared by the pool and its workers. */
export const Op = { mmNN: 1, mmNT: 2, mmTN: 3, attnFwd: 4, attnBwd: 5, xent: 6 } as const;

/**
 * Causal grouped-query attention, forward, for units [u0, u1) of B·KV (one unit = one batch row and one
 * KV head with its query heads, so no two units write the same memory). q/out: [B,T,H,hd]; k/v:
 * [B,T,KV,hd]; p receives the softmax probabilities [B,H,T,T] for the backward pass.
 */
export function attnFwd(
  F: Float32Array,
  q: number,
  k: number,
  v: number,
  p: number,
  out: number,
  B: number,
  T: number,
  H: number,
  KV: number,
  hd: number,
  u0: number,
  u1: number,
): void {
  const rep = H / KV;
  const scale = 1 / Math.sqrt(hd);
  for (let u = u0; u < u1; u++) {
    const bi = Math.floor(u / KV),
      g = u % KV;
    for (let r = 0; r < rep; r++) {
      const h = g * rep + r;
      for (let t = 0; t < T; t++) {
        const qt = q + ((bi * T + t) * H + h) * hd;
        const pt = p + ((bi * H + h) * T + t) * T;
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          const ks = k + ((bi * T + s) * KV + g) * hd;
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += F[qt + d] * F[ks + d];
          dot *= scale;
          F[pt + s] = dot;
          if (dot > max) max = dot;
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) {
          const e = Math.exp(F[pt + s] - max);
          F[pt + s] = e;
          sum += e;
        }
        const inv = 1 / sum;
        const ot = out + ((bi * T + t) * H + h) * hd;
        F.fill(0, ot, ot + hd);
        for (let s = 0; s <= t; s++) {
          const w = F[pt + s] * inv;
          F[pt + s] = w;
          const vs = v + ((bi * T + s) * KV + g) * hd;
          for (let d = 0; d < hd; d++) F[ot + d] += w * F[vs + d];
        }
        F.fill(0, pt + t + 1, pt + T);
      }
    }
  }
}

/**
 * Backward of {@link attnFwd} for units [u0, u1): writes dq and accumulates nothing across units, because
 * dk/dv of a KV head are owned by its unit (they are zeroed here first).
 */
export function attnBwd(
  F: Float32Array,
  q: number,
  k: number,
  v: number,
  p: number,
  dout: number,
  dq: number,
  dk: number,
  dv: number,
  B: number,
  T: number,
  H: number,
  KV: number,
  hd: number,
  u0: number,
  u1: number,
): void {
  const rep = H / KV;
  const scale = 1 / Math.sqrt(hd);
  const dpRow = new Float32Array(T);
  for (let u = u0; u < u1; u++) {
    const bi = Math.floor(u / KV),
      g = u % KV;
    for (let t = 0; t < T; t++) {
      const o = ((bi * T + t) * KV + g) * hd;
      F.fill(0, dk + o, dk + o + hd);
      F.fill(0, dv + o, dv + o + hd);
    }
    for (let r = 0; r < rep; r++) {
      const h = g * rep + r;
      for (let t = 0; t < T; t++) {
        const qo = ((bi * T + t) * H + h) * hd;
        const pt = p + ((bi * H + h) * T + t) * T;
        // dP[s] = dout·v[s]; the softmax Jacobian needs Σ P·dP before any dS can be formed.
        let dotPdP = 0;
        for (let s = 0; s <= t; s++) {
          const so = ((bi * T + s) * KV + g) * hd;
          let dp = 0;
          for (let d = 0; d < hd; d++) dp += F[dout + qo + d] * F[v + so + d];
          dpRow[s] = dp;
          const w = F[pt + s];
          dotPdP += dp * w;
          for (let d = 0; d < hd; d++) F[dv + so + d] += w * F[dout + qo + d];
        }
        F.fill(0, dq + qo, dq + qo + hd);
        for (let s = 0; s <= t; s++) {
          const so = ((bi * T + s) * KV + g) * hd;
          const ds = F[pt + s] * (dpRow[s] - dotPdP) * scale;
          for (let d = 0; d < hd; d++) {
            F[dq + qo + d] += ds * F[k + so + d];
            F[dk + so + d] += ds * F[q + qo + d];
          }
        }
      }
    }
  }
}

/**
 * Softmax cross-entropy for rows [r0, r1) of logits [M,V]: replaces each logits row by its gradient
 * (softmax − onehot) · gradScale and writes the row's loss (nats) to losses[row].
 */
export function xent(
  F: Float32Array,
  logits: number,
  targets: number,
  losses: number,
  M: number,
  V: number,
  gradScale: number,
  r0: number,
  r1: number,
): void {
  for (let i = r0; i < r1; i++) {
    const li = logits + i * V;
    const tgt = F[targets + i];
    const target = F[li + tgt];
    F[losses + i] = softmaxInPlace(F, li, V, gradScale) - target;
    F[li + tgt] -= gradScale;
  }
}

/** Runs kernel `op` with integer arguments `args` on the slice [r0, r1) of its rows or units. */
export function runKernel(
  F: Float32Array,
  op: number,
  args: ArrayLike<number>,
  r0: number,
  r1: number,
  gradScale: number,
): void {
  const x = args;
  switch (op) {
    case Op.mmNN:
      return mmNN(F, x[0], x[1], x[2], x[3], x[4], x[5], x[6], r0, r1);
    case Op.mmNT:
      return mmNT(F, x[0], x[1], x[2], x[3], x[4], x[5], x[6], r0, r1);
    case Op.mmTN:
      return mmTN(F, x[0], x[1], x[2], x[3], x[4], x[5], x[6], r0, r1);
    case Op.attnFwd:
      return attnFwd(F, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], r0, r1);
    case Op.attnBwd:
      return attnBwd(
        F,
        x[0],
        x[1],
        x[2],
        x[3],
        x[4],
        x[5],
        x[6],
        x[7],
        x[8],
        x[9],
        x[10],
        x[11],
        x[12],
        r0,
        r1,
      );
    case Op.xent:
      return xent(F, x[0], x[1], x[2], x[3], x[4], gradScale, r0, r1);
    default:
      throw new Error(`unknown kernel ${op}`);
  }
}
