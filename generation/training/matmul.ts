/**
 * The trainer's matrix products on the flat arena, register-tiled: each 4×4 block of the output keeps
 * its sixteen sums in locals, so every pair of loaded elements feeds sixteen multiply-adds instead of
 * one. Each kernel computes only rows [r0, r1) of its output, so threads can share a product.
 */

/** Σ_t F[x + t·sx] · F[y + t·sy] for t < n. */
function dot(F: Float32Array, x: number, sx: number, y: number, sy: number, n: number): number {
  let s = 0;
  for (let t = 0; t < n; t++) s += F[x + t * sx] * F[y + t * sy];
  return s;
}

function put(F: Float32Array, at: number, acc: number, v: number): void {
  F[at] = acc ? F[at] + v : v;
}

/** C[M,N] (+)= A[M,K] · B[K,N] for rows [r0, r1) of C. */
export function mmNN(
  F: Float32Array,
  a: number,
  b: number,
  c: number,
  M: number,
  K: number,
  N: number,
  acc: number,
  r0: number,
  r1: number,
): void {
  const N4 = N - (N % 4);
  let i = r0;
  for (; i + 4 <= r1; i += 4) {
    for (let j = 0; j < N4; j += 4) {
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0;
      let s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      let s20 = 0,
        s21 = 0,
        s22 = 0,
        s23 = 0;
      let s30 = 0,
        s31 = 0,
        s32 = 0,
        s33 = 0;
      for (let t = 0; t < K; t++) {
        const x0 = F[a + i * K + t],
          x1 = F[a + (i + 1) * K + t],
          x2 = F[a + (i + 2) * K + t],
          x3 = F[a + (i + 3) * K + t];
        const bt = b + t * N + j;
        const y0 = F[bt],
          y1 = F[bt + 1],
          y2 = F[bt + 2],
          y3 = F[bt + 3];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s22 += x2 * y2;
        s23 += x2 * y3;
        s30 += x3 * y0;
        s31 += x3 * y1;
        s32 += x3 * y2;
        s33 += x3 * y3;
      }
      const o0 = c + i * N + j,
        o1 = o0 + N,
        o2 = o1 + N,
        o3 = o2 + N;
      if (acc) {
        F[o0] += s00;
        F[o0 + 1] += s01;
        F[o0 + 2] += s02;
        F[o0 + 3] += s03;
        F[o1] += s10;
        F[o1 + 1] += s11;
        F[o1 + 2] += s12;
        F[o1 + 3] += s13;
        F[o2] += s20;
        F[o2 + 1] += s21;
        F[o2 + 2] += s22;
        F[o2 + 3] += s23;
        F[o3] += s30;
        F[o3 + 1] += s31;
        F[o3 + 2] += s32;
        F[o3 + 3] += s33;
      } else {
        F[o0] = s00;
        F[o0 + 1] = s01;
        F[o0 + 2] = s02;
        F[o0 + 3] = s03;
        F[o1] = s10;
        F[o1 + 1] = s11;
        F[o1 + 2] = s12;
        F[o1 + 3] = s13;
        F[o2] = s20;
        F[o2 + 1] = s21;
        F[o2 + 2] = s22;
        F[o2 + 3] = s23;
        F[o3] = s30;
        F[o3 + 1] = s31;
        F[o3 + 2] = s32;
        F[o3 + 3] = s33;
      }
    }
    for (let j = N4; j < N; j++)
      for (let r = 0; r < 4; r++)
        put(F, c + (i + r) * N + j, acc, dot(F, a + (i + r) * K, 1, b + j, N, K));
  }
  for (; i < r1; i++)
    for (let j = 0; j < N; j++) put(F, c + i * N + j, acc, dot(F, a + i * K, 1, b + j, N, K));
}

/** C[M,N] (+)= A[M,K] · B[N,K]ᵀ for rows [r0, r1) of C. */
export function mmNT(
  F: Float32Array,
  a: number,
  b: number,
  c: number,
  M: number,
  K: number,
  N: number,
  acc: number,
  r0: number,
  r1: number,
): void {
  const N4 = N - (N % 4);
  let i = r0;
  for (; i + 4 <= r1; i += 4) {
    for (let j = 0; j < N4; j += 4) {
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0;
      let s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      let s20 = 0,
        s21 = 0,
        s22 = 0,
        s23 = 0;
      let s30 = 0,
        s31 = 0,
        s32 = 0,
        s33 = 0;
      for (let t = 0; t < K; t++) {
        const x0 = F[a + i * K + t],
          x1 = F[a + (i + 1) * K + t],
          x2 = F[a + (i + 2) * K + t],
          x3 = F[a + (i + 3) * K + t];
        const y0 = F[b + j * K + t],
          y1 = F[b + (j + 1) * K + t],
          y2 = F[b + (j + 2) * K + t],
          y3 = F[b + (j + 3) * K + t];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s22 += x2 * y2;
        s23 += x2 * y3;
        s30 += x3 * y0;
        s31 += x3 * y1;
        s32 += x3 * y2;
        s33 += x3 * y3;
      }
      const o0 = c + i * N + j,
        o1 = o0 + N,
        o2 = o1 + N,
        o3 = o2 + N;
      if (acc) {
        F[o0] += s00;
        F[o0 + 1] += s01;
        F[o0 + 2] += s02;
        F[o0 + 3] += s03;
        F[o1] += s10;
        F[o1 + 1] += s11;
        F[o1 + 2] += s12;
        F[o1 + 3] += s13;
        F[o2] += s20;
        F[o2 + 1] += s21;
        F[o2 + 2] += s22;
        F[o2 + 3] += s23;
        F[o3] += s30;
        F[o3 + 1] += s31;
        F[o3 + 2] += s32;
        F[o3 + 3] += s33;
      } else {
        F[o0] = s00;
        F[o0 + 1] = s01;
        F[o0 + 2] = s02;
        F[o0 + 3] = s03;
        F[o1] = s10;
        F[o1 + 1] = s11;
        F[o1 + 2] = s12;
        F[o1 + 3] = s13;
        F[o2] = s20;
        F[o2 + 1] = s21;
        F[o2 + 2] = s22;
        F[o2 + 3] = s23;
        F[o3] = s30;
        F[o3 + 1] = s31;
        F[o3 + 2] = s32;
        F[o3 + 3] = s33;
      }
    }
    for (let j = N4; j < N; j++)
      for (let r = 0; r < 4; r++)
        put(F, c + (i + r) * N + j, acc, dot(F, a + (i + r) * K, 1, b + j * K, 1, K));
  }
  for (; i < r1; i++)
    for (let j = 0; j < N; j++) put(F, c + i * N + j, acc, dot(F, a + i * K, 1, b + j * K, 1, K));
}

/** C[K,N] (+)= A[M,K]ᵀ · B[M,N] for rows [r0, r1) of C (rows of C are columns of A: the weight gradient). */
export function mmTN(
  F: Float32Array,
  a: number,
  b: number,
  c: number,
  M: number,
  K: number,
  N: number,
  acc: number,
  r0: number,
  r1: number,
): void {
  const N4 = N - (N % 4);
  let i = r0;
  for (; i + 4 <= r1; i += 4) {
    for (let j = 0; j < N4; j += 4) {
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0;
      let s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      let s20 = 0,
        s21 = 0,
        s22 = 0,
        s23 = 0;
      let s30 = 0,
        s31 = 0,
        s32 = 0,
        s33 = 0;
      for (let t = 0; t < M; t++) {
        const at = a + t * K + i,
          bt = b + t * N + j;
        const x0 = F[at],
          x1 = F[at + 1],
          x2 = F[at + 2],
          x3 = F[at + 3];
        const y0 = F[bt],
          y1 = F[bt + 1],
          y2 = F[bt + 2],
          y3 = F[bt + 3];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s22 += x2 * y2;
        s23 += x2 * y3;
        s30 += x3 * y0;
        s31 += x3 * y1;
        s32 += x3 * y2;
        s33 += x3 * y3;
      }
      const o0 = c + i * N + j,
        o1 = o0 + N,
        o2 = o1 + N,
        o3 = o2 + N;
      if (acc) {
        F[o0] += s00;
        F[o0 + 1] += s01;
        F[o0 + 2] += s02;
        F[o0 + 3] += s03;
        F[o1] += s10;
        F[o1 + 1] += s11;
        F[o1 + 2] += s12;
        F[o1 + 3] += s13;
        F[o2] += s20;
        F[o2 + 1] += s21;
        F[o2 + 2] += s22;
        F[o2 + 3] += s23;
        F[o3] += s30;
        F[o3 + 1] += s31;
        F[o3 + 2] += s32;
        F[o3 + 3] += s33;
      } else {
        F[o0] = s00;
        F[o0 + 1] = s01;
        F[o0 + 2] = s02;
        F[o0 + 3] = s03;
        F[o1] = s10;
        F[o1 + 1] = s11;
        F[o1 + 2] = s12;
        F[o1 + 3] = s13;
        F[o2] = s20;
        F[o2 + 1] = s21;
        F[o2 + 2] = s22;
        F[o2 + 3] = s23;
        F[o3] = s30;
        F[o3 + 1] = s31;
        F[o3 + 2] = s32;
        F[o3 + 3] = s33;
      }
    }
    for (let j = N4; j < N; j++)
      for (let r = 0; r < 4; r++)
        put(F, c + (i + r) * N + j, acc, dot(F, a + (i + r), K, b + j, N, M));
  }
  for (; i < r1; i++)
    for (let j = 0; j < N; j++) put(F, c + i * N + j, acc, dot(F, a + i, K, b + j, N, M));
}
