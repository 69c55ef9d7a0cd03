/**
 * A kernel-pool worker: waits on its control block, runs the slice of the kernel it is given, reports
 * completion, and exits when it is sent op 0.
 */
import { workerData } from 'node:worker_threads';
import { runKernel } from './kernels.js';

const {
  arena,
  ctrl: ctrlBuf,
  base,
} = workerData as { arena: SharedArrayBuffer; ctrl: SharedArrayBuffer; base: number };
const F = new Float32Array(arena);
const ctrl = new Int32Array(ctrlBuf);
const ctrlF = new Float32Array(ctrlBuf);
// Starts from 0, not the current value: the first job may already be posted before this line runs.
let seen = 0;
Atomics.store(ctrl, base + 30, 1);
Atomics.notify(ctrl, base + 30);

for (;;) {
  Atomics.wait(ctrl, base, seen);
  seen = Atomics.load(ctrl, base);
  const op = ctrl[base + 2];
  if (op === 0) break;
  runKernel(
    F,
    op,
    ctrl.subarray(base + 5, base + 31),
    ctrl[base + 3],
    ctrl[base + 4],
    ctrlF[base + 31],
  );
  Atomics.store(ctrl, base + 1, seen);
  Atomics.notify(ctrl, base + 1);
}
