/**
 * The worker-thread kernel pool: one SharedArrayBuffer arena holds every parameter, gradient and
 * activation, and each kernel call is split by rows between the main thread and the workers. Calls are
 * synchronous (Atomics.wait), so the model code reads like single-threaded code.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../common/worker.js';
import { runKernel } from './kernels.js';

const CTRL = 32; // int32 slots per worker: 0 seq, 1 done, 2 op, 3 r0, 4 r1, 5.. args, 30 ready, 31 gradScale (f32)
const ARGS = 5;

/** A float arena shared with worker threads, plus the kernel dispatcher. */
export class KernelPool {
  /** The whole arena as one flat view; kernels address it by element offset. */
  readonly F: Float32Array;
  readonly threads: number;
  private used = 0;
  private readonly ctrl: Int32Array;
  private readonly ctrlF: Float32Array;
  private readonly workers: Worker[] = [];
  private seq = 0;

  /**
   * Allocates an arena of `floats` elements and starts `threads - 1` workers (the caller is the other).
   * Calls with fewer than `minWork` multiply-adds run on the caller alone.
   */
  constructor(
    floats: number,
    threads = 1,
    private readonly minWork = 2e5,
  ) {
    this.threads = Math.max(1, Math.floor(threads));
    this.F = new Float32Array(new SharedArrayBuffer(4 * floats));
    const ctrlBuf = new SharedArrayBuffer(4 * CTRL * this.threads);
    this.ctrl = new Int32Array(ctrlBuf);
    this.ctrlF = new Float32Array(ctrlBuf);
    for (let w = 1; w < this.threads; w++) {
      const worker = startModuleWorker(import.meta.url, './kernel-worker', {
        workerData: { arena: this.F.buffer, ctrl: ctrlBuf, base: w * CTRL },
      });
      worker.unref();
      this.workers.push(worker);
    }
    // Block until every worker has loaded: a worker that failed to start would otherwise hang run().
    for (let w = 1; w < this.threads; w++) {
      if (
        Atomics.wait(this.ctrl, w * CTRL + 30, 0, 60_000) === 'timed-out' &&
        this.ctrl[w * CTRL + 30] === 0
      ) {
        void this.close();
        throw new Error('a kernel worker thread did not start');
      }
    }
  }

  /** Reserves `n` floats of the arena (zeroed) and returns their element offset. */
  alloc(n: number): number {
    const off = this.used;
    // 16-float alignment keeps rows of different tensors on separate cache lines.
    this.used += Math.ceil(n / 16) * 16;
    if (this.used > this.F.length)
      throw new Error(`kernel arena exhausted (${this.used} > ${this.F.length} floats)`);
    return off;
  }

  /** A view of `n` floats at element offset `off`. */
  view(off: number, n: number): Float32Array {
    return this.F.subarray(off, off + n);
  }

  /** Runs kernel `op` over `rows` rows (or units), splitting them between the threads. */
  run(op: number, args: number[], rows: number, gradScale = 0, work = 0): void {
    // Small calls cost more to hand over than to compute.
    const n = work > 0 && work < this.minWork ? 1 : Math.min(this.threads, rows);
    const chunk = Math.ceil(rows / n);
    this.seq++;
    for (let w = 1; w < n; w++) {
      const base = w * CTRL;
      this.ctrl[base + 2] = op;
      this.ctrl[base + 3] = Math.min(rows, w * chunk);
      this.ctrl[base + 4] = Math.min(rows, (w + 1) * chunk);
      for (let i = 0; i < args.length; i++) this.ctrl[base + ARGS + i] = args[i];
      this.ctrlF[base + 31] = gradScale;
      Atomics.store(this.ctrl, base, this.seq);
      Atomics.notify(this.ctrl, base);
    }
    runKernel(this.F, op, args, 0, Math.min(rows, chunk), gradScale);
    for (let w = 1; w < n; w++) {
      const base = w * CTRL;
      for (;;) {
        const done = Atomics.load(this.ctrl, base + 1);
        if (done === this.seq) break;
        Atomics.wait(this.ctrl, base + 1, done);
      }
    }
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    for (let w = 1; w < this.threads; w++) {
      const base = w * CTRL;
      this.ctrl[base + 2] = 0;
      Atomics.store(this.ctrl, base, ++this.seq);
      Atomics.notify(this.ctrl, base);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
