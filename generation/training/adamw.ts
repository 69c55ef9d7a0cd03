/**
 * AdamW with global-norm gradient clipping and a warmup + cosine learning-rate schedule. The moment
 * buffers are plain arrays: only the trainer's thread touches them.
 */

/** Optimizer hyper-parameters. */
export interface AdamWOptions {
  lr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clip: number;
}

/** AdamW state over one flat parameter block. */
export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  step = 0;

  /** `noDecay[i]` = 1 excludes parameter i (norm gains) from weight decay. */
  constructor(
    readonly options: AdamWOptions,
    size: number,
    private readonly noDecay: Uint8Array,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** The learning rate at step `s` (0-based): linear warmup, then cosine decay to minLr. */
  lrAt(s: number): number {
    const o = this.options;
    if (s < o.warmupSteps) return (o.lr * (s + 1)) / o.warmupSteps;
    const progress = Math.min(1, (s - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps));
    return o.minLr + 0.5 * (o.lr - o.minLr) * (1 + Math.cos(Math.PI * progress));
  }

  /** Clips `grads` to the global norm, updates `params` in place, and returns the pre-clip norm. */
  update(params: Float32Array, grads: Float32Array): number {
    const o = this.options;
    let ss = 0;
    for (let i = 0; i < grads.length; i++) ss += grads[i] * grads[i];
    const norm = Math.sqrt(ss);
    const scale = norm > o.clip ? o.clip / norm : 1;
    const lr = this.lrAt(this.step);
    this.step++;
    const bc1 = 1 - Math.pow(o.beta1, this.step),
      bc2 = 1 - Math.pow(o.beta2, this.step);
    const { m, v } = this;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i] * scale;
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const decay = this.noDecay[i] ? 0 : o.weightDecay * params[i];
      params[i] -= lr * (m[i] / bc1 / (Math.sqrt(v[i] / bc2) + o.eps) + decay);
    }
    return norm;
  }
}
