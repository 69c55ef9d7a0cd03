/**
 * The training loop: random windows from the training stream, forward/backward on the kernel pool,
 * AdamW, periodic validation and checkpoints, progress callbacks, and a clean stop on abort (the last
 * checkpoint is written before returning).
 */
import { AdamW } from './adamw.js';
import type { Checkpoint, CheckpointMeta, HistoryPoint } from './checkpoint.js';
import { sampleBatch, validationWindow, validationWindows } from './data.js';
import { KernelPool } from './kernel-pool.js';
import { LlamaModel } from './model.js';
import { flopsPerToken, initParams, normMask } from './model-params.js';
import { Rng } from './rng.js';

/** One progress report, sent after every step. */
export interface TrainProgress {
  step: number;
  steps: number;
  loss: number;
  /** The latest validation loss, if one has been measured. */
  valLoss?: number;
  tokensPerSecond: number;
  gflops: number;
  etaSeconds: number;
}

/** What a training run needs besides its checkpoint metadata. */
export interface TrainRun {
  /** Starting state: step 0 for a new run (params initialised from the seed when absent). */
  start: Omit<Checkpoint, 'params' | 'm' | 'v'> & Partial<Pick<Checkpoint, 'params' | 'm' | 'v'>>;
  steps: number;
  train: Int32Array;
  val: Int32Array;
  evalEvery: number;
  evalWindows: number;
  checkpointEvery: number;
  threads: number;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  onCheckpoint?: (c: Checkpoint) => void;
}

/** The outcome of a run. */
export interface TrainResult {
  checkpoint: Checkpoint;
  aborted: boolean;
  finalValLoss: number;
  evalWindows: number;
  threads: number;
  /** Training FLOPs per token / 1e9, to turn tokens/s into GFLOP/s. */
  gflopsPerToken: number;
}

/** Mean validation loss over the first `windows` windows of `val`, in batches of the model's batch size. */
export function evaluate(model: LlamaModel, val: Int32Array, windows: number): number {
  const T = model.seqLen;
  let sum = 0;
  for (let w0 = 0; w0 < windows; w0 += model.batch) {
    const rows = Math.min(model.batch, windows - w0);
    const inputs = new Int32Array(rows * T),
      targets = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) validationWindow(val, T, w0 + r, inputs, targets, r);
    sum += model.forward(inputs, targets) * rows;
  }
  return windows > 0 ? sum / windows : Number.NaN;
}

/** Trains from `run.start` for up to `run.steps` total steps and returns the final checkpoint. */
export async function train(run: TrainRun): Promise<TrainResult> {
  const meta: CheckpointMeta = { ...run.start.meta, history: [...run.start.meta.history] };
  const c = meta.config,
    T = c.maxSeqLen,
    B = meta.batch;
  const pool = new KernelPool(LlamaModel.arenaFloats(c, B, T), run.threads);
  try {
    const model = new LlamaModel(c, pool, B, T);
    const rng = new Rng(meta.seed);
    if (run.start.params) model.params.set(run.start.params);
    else initParams(c, model.params, rng);
    if (!run.start.params) meta.rngState = rng.state;
    rng.state = meta.rngState;
    const optim = new AdamW(
      { ...meta.optim, totalSteps: run.steps },
      model.layout.size,
      normMask(c),
    );
    if (run.start.m && run.start.v) {
      optim.m.set(run.start.m);
      optim.v.set(run.start.v);
    }
    optim.step = meta.step;
    const windows = validationWindows(run.val, T, run.evalWindows);
    const inputs = new Int32Array(B * T),
      targets = new Int32Array(B * T);
    const flops = flopsPerToken(c, T);
    const snapshot = (): Checkpoint => ({
      meta: { ...meta, rngState: rng.state },
      params: Float32Array.from(model.params),
      m: optim.m,
      v: optim.v,
    });
    let valLoss = meta.history.at(-1)?.valLoss;
    let trainMs = 0,
      trainTokens = 0,
      lossEma = Number.NaN;
    let aborted = false;
    while (meta.step < run.steps) {
      if (run.signal?.aborted) {
        aborted = true;
        break;
      }
      const t0 = performance.now();
      sampleBatch(run.train, B, T, rng, inputs, targets);
      model.grads.fill(0);
      const loss = model.forward(inputs, targets);
      model.backward();
      optim.update(model.params, model.grads);
      const ms = performance.now() - t0;
      meta.step++;
      meta.tokensSeen += B * T;
      meta.elapsedMs += ms;
      trainMs += ms;
      trainTokens += B * T;
      lossEma = Number.isNaN(lossEma) ? loss : 0.9 * lossEma + 0.1 * loss;
      const last = meta.step === run.steps;
      if (windows > 0 && (meta.step % run.evalEvery === 0 || last)) {
        valLoss = evaluate(model, run.val, windows);
        meta.history.push({ step: meta.step, loss: lossEma, valLoss } satisfies HistoryPoint);
      }
      const tps = (trainTokens / trainMs) * 1000;
      run.onProgress?.({
        step: meta.step,
        steps: run.steps,
        loss: lossEma,
        valLoss,
        tokensPerSecond: tps,
        gflops: (tps * flops) / 1e9,
        etaSeconds: ((run.steps - meta.step) * B * T) / tps,
      });
      if (meta.step % run.checkpointEvery === 0 || last) run.onCheckpoint?.(snapshot());
      // Yield so that the SIGINT handler can abort between steps.
      await new Promise((r) => setImmediate(r));
    }
    const checkpoint = snapshot();
    if (aborted) run.onCheckpoint?.(checkpoint);
    return {
      checkpoint,
      aborted,
      finalValLoss: valLoss ?? Number.NaN,
      evalWindows: windows,
      threads: pool.threads,
      gflopsPerToken: flops / 1e9,
    };
  } finally {
    await pool.close();
  }
}
