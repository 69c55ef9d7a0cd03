// The matrix kernels against a plain triple loop, on odd sizes (the 4×4 tiles plus remainders), with
// and without accumulation, computed whole and as two row slices as the pool splits them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelPool } from '../../../generation/training/kernel-pool.js';
import { mmNN, mmNT, mmTN, Op } from '../../../generation/training/kernels.js';
import { measureMatmulGflops } from '../../../generation/training/matmul-bench.js';
import { Rng } from '../../../generation/training/rng.js';

type Kernel = typeof mmNN;
const cases: [
  string,
  Kernel,
  (a: Float32Array, b: Float32Array, M: number, K: number, N: number) => Float64Array,
  (M: number, K: number) => number,
][] = [
  [
    'NN',
    mmNN,
    (a, b, M, K, N) => ref(M, N, (i, j) => sum(K, (k) => a[i * K + k] * b[k * N + j])),
    (M) => M,
  ],
  [
    'NT',
    mmNT,
    (a, b, M, K, N) => ref(M, N, (i, j) => sum(K, (k) => a[i * K + k] * b[j * K + k])),
    (M) => M,
  ],
  [
    'TN',
    mmTN,
    (a, b, M, K, N) => ref(K, N, (k, j) => sum(M, (i) => a[i * K + k] * b[i * N + j])),
    (_M, K) => K,
  ],
];

function sum(n: number, f: (i: number) => number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += f(i);
  return s;
}

function ref(rows: number, cols: number, f: (i: number, j: number) => number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = f(i, j);
  return out;
}

for (const [name, kernel, reference, rowsOf] of cases) {
  for (const [M, K, N] of [
    [7, 5, 3],
    [9, 13, 6],
    [4, 8, 1],
  ]) {
    test(`mm${name} ${M}x${K}x${N} matches the reference, whole and split, with accumulation`, () => {
      const rng = new Rng(M * 100 + K * 10 + N);
      const F = new Float32Array(M * K + Math.max(K * N, M * N) + Math.max(M, K) * N);
      for (let i = 0; i < F.length; i++) F[i] = rng.normal();
      const a = 0,
        b = M * K,
        c = b + Math.max(K * N, M * N);
      const bSize = name === 'NN' ? K * N : name === 'NT' ? N * K : M * N;
      const expected = reference(F.subarray(a, a + M * K), F.subarray(b, b + bSize), M, K, N);
      const rows = rowsOf(M, K);
      const mid = Math.floor(rows / 2) + 1;
      kernel(F, a, b, c, M, K, N, 0, 0, mid);
      kernel(F, a, b, c, M, K, N, 0, mid, rows);
      for (let i = 0; i < expected.length; i++)
        assert.ok(Math.abs(F[c + i] - expected[i]) < 1e-4, `${name}[${i}]`);
      kernel(F, a, b, c, M, K, N, 1, 0, rows);
      for (let i = 0; i < expected.length; i++)
        assert.ok(Math.abs(F[c + i] - 2 * expected[i]) < 2e-4, `${name} acc[${i}]`);
    });
  }
}

test('the pool splits a product between two threads with the same result as one', async () => {
  const M = 64,
    K = 48,
    N = 40;
  const results: Float32Array[] = [];
  for (const threads of [1, 2]) {
    const pool = new KernelPool(M * K + K * N + M * N, threads, 0);
    const a = pool.alloc(M * K),
      b = pool.alloc(K * N),
      c = pool.alloc(M * N);
    const rng = new Rng(9);
    for (let i = 0; i < M * K + K * N; i++) pool.F[i] = rng.normal();
    pool.run(Op.mmNN, [a, b, c, M, K, N, 0], M, 0, M * K * N);
    results.push(Float32Array.from(pool.view(c, M * N)));
    await pool.close();
  }
  assert.deepEqual(results[1], results[0]);
});

test('the single-thread matmul yardstick measures a positive, finite speed', () => {
  const gflops = measureMatmulGflops(1);
  assert.ok(Number.isFinite(gflops) && gflops > 0, String(gflops));
});
