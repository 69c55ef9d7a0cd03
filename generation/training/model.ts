/**
 * The Llama decoder of the trainer: forward pass with the loss, and the backward pass into a flat
 * gradient block. Parameters, gradients and activations live in the kernel pool's shared arena; matrix
 * products, attention and the loss run on the pool, the row-local layers on the calling thread.
 */
import { KernelPool } from './kernel-pool.js';
import { Op } from './kernels.js';
import {
  rmsnormBackward,
  rmsnormForward,
  rope,
  ropeTables,
  swigluBackward,
  swigluForward,
} from './layers.js';
import { paramLayout, type LlamaConfig, type ParamLayout } from './model-params.js';

interface LayerActs {
  xIn: number;
  rA: number;
  hA: number;
  q: number;
  k: number;
  v: number;
  p: number;
  att: number;
  xMid: number;
  rF: number;
  hF: number;
  g: number;
  u: number;
  act: number;
}

/** A Llama model bound to a kernel pool, for batches of up to `batch` sequences of `seqLen` tokens. */
export class LlamaModel {
  readonly layout: ParamLayout;
  /** Arena offsets of the parameter and gradient blocks (same layout). */
  readonly pOff: number;
  readonly gOff: number;
  private readonly acts: LayerActs[] = [];
  private readonly xOut: number;
  private readonly rOut: number;
  private readonly hOut: number;
  private readonly logits: number;
  private readonly targets: number;
  private readonly losses: number;
  private readonly dx: number;
  private readonly dh: number;
  private readonly dq: number;
  private readonly dk: number;
  private readonly dv: number;
  private readonly datt: number;
  private readonly dg: number;
  private readonly du: number;
  private readonly dact: number;
  private readonly cos: Float32Array;
  private readonly sin: Float32Array;
  private tokens: Int32Array = new Int32Array(0);
  private rows = 0;

  /** Allocates parameters, gradients and activations in `pool`. */
  constructor(
    readonly config: LlamaConfig,
    readonly pool: KernelPool,
    readonly batch: number,
    readonly seqLen: number,
  ) {
    const c = config;
    this.layout = paramLayout(c);
    this.pOff = pool.alloc(this.layout.size);
    this.gOff = pool.alloc(this.layout.size);
    const M = batch * seqLen,
      D = c.dim,
      qd = c.nHeads * c.headDim,
      kvd = c.nKvHeads * c.headDim,
      Fd = c.ffnDim;
    for (let l = 0; l < c.nLayers; l++) {
      const a = (n: number): number => pool.alloc(n);
      this.acts.push({
        xIn: a(M * D),
        rA: a(M),
        hA: a(M * D),
        q: a(M * qd),
        k: a(M * kvd),
        v: a(M * kvd),
        p: a(batch * c.nHeads * seqLen * seqLen),
        att: a(M * qd),
        xMid: a(M * D),
        rF: a(M),
        hF: a(M * D),
        g: a(M * Fd),
        u: a(M * Fd),
        act: a(M * Fd),
      });
    }
    this.xOut = pool.alloc(M * D);
    this.rOut = pool.alloc(M);
    this.hOut = pool.alloc(M * D);
    this.logits = pool.alloc(M * c.vocabSize);
    this.targets = pool.alloc(M);
    this.losses = pool.alloc(M);
    this.dx = pool.alloc(M * D);
    this.dh = pool.alloc(M * D);
    this.dq = pool.alloc(M * qd);
    this.dk = pool.alloc(M * kvd);
    this.dv = pool.alloc(M * kvd);
    this.datt = pool.alloc(M * qd);
    this.dg = pool.alloc(M * Fd);
    this.du = pool.alloc(M * Fd);
    this.dact = pool.alloc(M * Fd);
    ({ cos: this.cos, sin: this.sin } = ropeTables(seqLen, c.headDim, c.ropeTheta));
  }

  /** Floats of arena a model with these sizes needs (parameters, gradients, activations). */
  static arenaFloats(c: LlamaConfig, batch: number, seqLen: number): number {
    const M = batch * seqLen,
      D = c.dim,
      qd = c.nHeads * c.headDim,
      kvd = c.nKvHeads * c.headDim;
    const perLayer =
      M * (5 * D + 2 * qd + 2 * kvd + 3 * c.ffnDim + 2) + batch * c.nHeads * seqLen * seqLen;
    const scratch = M * (4 * D + 2 * qd + 2 * kvd + 3 * c.ffnDim + c.vocabSize + 3);
    return 2 * paramLayout(c).size + c.nLayers * perLayer + scratch + 64 * (c.nLayers * 16 + 32);
  }

  /** The parameter block. */
  get params(): Float32Array {
    return this.pool.view(this.pOff, this.layout.size);
  }

  /** The gradient block (same layout as {@link params}). */
  get grads(): Float32Array {
    return this.pool.view(this.gOff, this.layout.size);
  }

  /** The logits [b, seqLen, vocab] of the last forward pass without targets. */
  logitsView(b: number): Float32Array {
    return this.pool.view(this.logits, b * this.seqLen * this.config.vocabSize);
  }

  private v(off: number, n: number): Float32Array {
    return this.pool.view(off, n);
  }

  private mm(
    kind: number,
    a: number,
    b: number,
    c: number,
    M: number,
    K: number,
    N: number,
    acc: boolean,
  ): void {
    const rows = kind === Op.mmTN ? K : M;
    this.pool.run(kind, [a, b, c, M, K, N, acc ? 1 : 0], rows, 0, M * K * N);
  }

  /**
   * Runs b sequences of seqLen tokens (ids, row-major). With targets, returns the mean cross-entropy and
   * leaves ∂loss/∂logits in place for {@link backward}; without, leaves the logits and returns NaN.
   */
  forward(tokens: Int32Array, targets?: Int32Array): number {
    const c = this.config,
      T = this.seqLen,
      M = tokens.length,
      D = c.dim,
      P = this.pOff;
    const qd = c.nHeads * c.headDim,
      kvd = c.nKvHeads * c.headDim,
      Fd = c.ffnDim;
    const b = M / T;
    this.tokens = tokens;
    this.rows = M;
    const F = this.pool.F;
    const x0 = this.acts[0].xIn;
    for (let i = 0; i < M; i++)
      F.copyWithin(
        x0 + i * D,
        P + this.layout.embed + tokens[i] * D,
        P + this.layout.embed + (tokens[i] + 1) * D,
      );
    for (let l = 0; l < c.nLayers; l++) {
      const a = this.acts[l],
        w = this.layout.layers[l];
      rmsnormForward(
        this.v(a.xIn, M * D),
        this.v(P + w.attnNorm, D),
        this.v(a.hA, M * D),
        this.v(a.rA, M),
        M,
        D,
        c.normEps,
      );
      this.mm(Op.mmNN, a.hA, P + w.wq, a.q, M, D, qd, false);
      this.mm(Op.mmNN, a.hA, P + w.wk, a.k, M, D, kvd, false);
      this.mm(Op.mmNN, a.hA, P + w.wv, a.v, M, D, kvd, false);
      rope(this.v(a.q, M * qd), M, T, c.nHeads, c.headDim, this.cos, this.sin, false);
      rope(this.v(a.k, M * kvd), M, T, c.nKvHeads, c.headDim, this.cos, this.sin, false);
      this.pool.run(
        Op.attnFwd,
        [a.q, a.k, a.v, a.p, a.att, b, T, c.nHeads, c.nKvHeads, c.headDim],
        b * c.nKvHeads,
      );
      F.copyWithin(a.xMid, a.xIn, a.xIn + M * D);
      this.mm(Op.mmNN, a.att, P + w.wo, a.xMid, M, qd, D, true);
      rmsnormForward(
        this.v(a.xMid, M * D),
        this.v(P + w.ffnNorm, D),
        this.v(a.hF, M * D),
        this.v(a.rF, M),
        M,
        D,
        c.normEps,
      );
      this.mm(Op.mmNN, a.hF, P + w.w1, a.g, M, D, Fd, false);
      this.mm(Op.mmNN, a.hF, P + w.w3, a.u, M, D, Fd, false);
      swigluForward(this.v(a.g, M * Fd), this.v(a.u, M * Fd), this.v(a.act, M * Fd), M * Fd);
      const next = l + 1 < c.nLayers ? this.acts[l + 1].xIn : this.xOut;
      F.copyWithin(next, a.xMid, a.xMid + M * D);
      this.mm(Op.mmNN, a.act, P + w.w2, next, M, Fd, D, true);
    }
    rmsnormForward(
      this.v(this.xOut, M * D),
      this.v(P + this.layout.finalNorm, D),
      this.v(this.hOut, M * D),
      this.v(this.rOut, M),
      M,
      D,
      c.normEps,
    );
    this.mm(Op.mmNT, this.hOut, P + this.layout.embed, this.logits, M, D, c.vocabSize, false);
    if (!targets) return Number.NaN;
    for (let i = 0; i < M; i++) F[this.targets + i] = targets[i];
    this.pool.run(Op.xent, [this.logits, this.targets, this.losses, M, c.vocabSize], M, 1 / M);
    let sum = 0;
    for (let i = 0; i < M; i++) sum += F[this.losses + i];
    return sum / M;
  }

  /** Accumulates ∂loss/∂params of the last forward pass (with targets) into {@link grads}. */
  backward(): void {
    const c = this.config,
      T = this.seqLen,
      M = this.rows,
      D = c.dim,
      P = this.pOff,
      G = this.gOff,
      L = this.layout;
    const qd = c.nHeads * c.headDim,
      kvd = c.nKvHeads * c.headDim,
      Fd = c.ffnDim,
      V = c.vocabSize;
    const b = M / T;
    this.mm(Op.mmNN, this.logits, P + L.embed, this.dh, M, V, D, false);
    this.mm(Op.mmTN, this.logits, this.hOut, G + L.embed, M, V, D, true);
    rmsnormBackward(
      this.v(this.xOut, M * D),
      this.v(P + L.finalNorm, D),
      this.v(this.rOut, M),
      this.v(this.dh, M * D),
      this.v(this.dx, M * D),
      this.v(G + L.finalNorm, D),
      M,
      D,
      false,
    );
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const a = this.acts[l],
        w = L.layers[l];
      this.mm(Op.mmNT, this.dx, P + w.w2, this.dact, M, D, Fd, false);
      this.mm(Op.mmTN, a.act, this.dx, G + w.w2, M, Fd, D, true);
      swigluBackward(
        this.v(a.g, M * Fd),
        this.v(a.u, M * Fd),
        this.v(this.dact, M * Fd),
        this.v(this.dg, M * Fd),
        this.v(this.du, M * Fd),
        M * Fd,
      );
      this.mm(Op.mmNT, this.dg, P + w.w1, this.dh, M, Fd, D, false);
      this.mm(Op.mmNT, this.du, P + w.w3, this.dh, M, Fd, D, true);
      this.mm(Op.mmTN, a.hF, this.dg, G + w.w1, M, D, Fd, true);
      this.mm(Op.mmTN, a.hF, this.du, G + w.w3, M, D, Fd, true);
      rmsnormBackward(
        this.v(a.xMid, M * D),
        this.v(P + w.ffnNorm, D),
        this.v(a.rF, M),
        this.v(this.dh, M * D),
        this.v(this.dx, M * D),
        this.v(G + w.ffnNorm, D),
        M,
        D,
        true,
      );
      this.mm(Op.mmNT, this.dx, P + w.wo, this.datt, M, D, qd, false);
      this.mm(Op.mmTN, a.att, this.dx, G + w.wo, M, qd, D, true);
      this.pool.run(
        Op.attnBwd,
        [
          a.q,
          a.k,
          a.v,
          a.p,
          this.datt,
          this.dq,
          this.dk,
          this.dv,
          b,
          T,
          c.nHeads,
          c.nKvHeads,
          c.headDim,
        ],
        b * c.nKvHeads,
      );
      rope(this.v(this.dq, M * qd), M, T, c.nHeads, c.headDim, this.cos, this.sin, true);
      rope(this.v(this.dk, M * kvd), M, T, c.nKvHeads, c.headDim, this.cos, this.sin, true);
      this.mm(Op.mmNT, this.dq, P + w.wq, this.dh, M, qd, D, false);
      this.mm(Op.mmNT, this.dk, P + w.wk, this.dh, M, kvd, D, true);
      this.mm(Op.mmNT, this.dv, P + w.wv, this.dh, M, kvd, D, true);
      this.mm(Op.mmTN, a.hA, this.dq, G + w.wq, M, D, qd, true);
      this.mm(Op.mmTN, a.hA, this.dk, G + w.wk, M, D, kvd, true);
      this.mm(Op.mmTN, a.hA, this.dv, G + w.wv, M, D, kvd, true);
      rmsnormBackward(
        this.v(a.xIn, M * D),
        this.v(P + w.attnNorm, D),
        this.v(a.rA, M),
        this.v(this.dh, M * D),
        this.v(this.dx, M * D),
        this.v(G + w.attnNorm, D),
        M,
        D,
        true,
      );
    }
    const F = this.pool.F;
    for (let i = 0; i < M; i++) {
      const g = G + L.embed + this.tokens[i] * D,
        d = this.dx + i * D;
      for (let j = 0; j < D; j++) F[g + j] += F[d + j];
    }
  }
}
