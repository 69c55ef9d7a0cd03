/**
 * Measures this machine's single-thread matrix-multiply speed with the trainer's own kernel, the
 * yardstick the training throughput is reported against.
 */
import { mmNN } from './kernels.js';
import { Rng } from './rng.js';

/** GFLOP/s of mmNN on [256×128]·[128×256] on this thread, the best of several ~50 ms runs. */
export function measureMatmulGflops(runs = 4): number {
  const M = 256,
    K = 128,
    N = 256;
  const F = new Float32Array(M * K + K * N + M * N);
  const rng = new Rng(1);
  for (let i = 0; i < M * K + K * N; i++) F[i] = rng.normal();
  let best = 0;
  for (let r = 0; r < runs; r++) {
    let reps = 0;
    const t0 = performance.now();
    let ms = 0;
    while (ms < 50) {
      mmNN(F, 0, M * K, M * K + K * N, M, K, N, 0, 0, M);
      reps++;
      ms = performance.now() - t0;
    }
    best = Math.max(best, (2 * M * K * N * reps) / (ms * 1e6));
  }
  return best;
}
