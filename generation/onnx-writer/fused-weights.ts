/**
 * The fused graph's weights in each storage dtype, through the writer's {@link WeightEmitter} (fp32,
 * fp16 behind a load-time Cast, q4/q8 as MatMulNBits with block 32 and accuracy_level 4, embeddings
 * as GatherBlockQuantized sharing the head's blob). Adds what the fused graph needs on top: products
 * over column-concatenated weights (q|k|v, gate|up: one kernel instead of several, which matters at
 * decode where a launch costs as much as a small product), and an fp32 tied head that reads the
 * embedding as stored (FusedMatMul transB: no transposed copy of the table at load).
 */
import type { WeightInit, WeightSource } from './decoder-common.js';
import type { GraphBuilder } from './graph.js';
import { WeightEmitter, type Embedding, type WeightDtype } from './weight-emit.js';

/** One weight of a concatenated product: its name, output width and optional bias. */
export interface LinearPart {
  weight: string;
  out: number;
  bias?: string;
}

/** Concatenates [rows, cols_i] matrices along columns. */
export function concatColumns(parts: Float32Array[], cols: number[], rows: number): Float32Array {
  const width = cols.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let at = r * width;
    parts.forEach((p, i) => {
      out.set(p.subarray(r * cols[i], (r + 1) * cols[i]), at);
      at += cols[i];
    });
  }
  return out;
}

/** Weights of one fused graph. */
export class FusedWeights {
  private readonly emit: WeightEmitter;
  /** Synthetic names standing for column-concatenated weights or biases. */
  private readonly groups = new Map<string, { names: string[]; outs: number[] }>();

  constructor(
    readonly g: GraphBuilder,
    private readonly source: WeightSource,
    readonly dtype: WeightDtype,
  ) {
    this.emit = new WeightEmitter(g, (name, dims, init) => this.read(name, dims, init), dtype);
  }

  private read(name: string, dims: number[], init: WeightInit): Float32Array {
    const group = this.groups.get(name);
    if (!group) return this.source(name, dims, init);
    if (dims.length === 1)
      return concatColumns(
        group.names.map((n, i) => this.source(n, [group.outs[i]], init)),
        group.outs,
        1,
      );
    const rows = dims[0];
    return concatColumns(
      group.names.map((n, i) => this.source(n, [rows, group.outs[i]], init)),
      group.outs,
      rows,
    );
  }

  /** A float32 vector or small table (norm weights, biases). */
  vector(name: string, dims: number[], init: WeightInit): string {
    return this.emit.vector(name, dims, init);
  }

  /** A bias vector. */
  bias(name: string, size: number): string {
    return this.emit.vector(name, [size], 'zeros');
  }

  /**
   * x·[W1|W2|…] (+ [b1|b2|…]) for [in, out_i] weights read by name; stored as one weight named
   * `name` (and `name` with .weight replaced by .bias) when there are several parts.
   */
  linear(x: string, name: string, parts: LinearPart[], inDim: number): string {
    const out = parts.reduce((n, p) => n + p.out, 0);
    const biased = parts.some((p) => p.bias);
    if (biased && !parts.every((p) => p.bias))
      throw new Error(`${name}: either every part has a bias or none`);
    if (parts.length === 1) return this.emit.linear(x, parts[0].weight, inDim, out, parts[0].bias);
    const outs = parts.map((p) => p.out);
    this.groups.set(name, { names: parts.map((p) => p.weight), outs });
    const biasName = name.replace(/\.weight$/, '') + '.bias';
    if (biased) this.groups.set(biasName, { names: parts.map((p) => p.bias!), outs });
    return this.emit.linear(x, name, inDim, out, biased ? biasName : undefined);
  }

  /** A lookup-only float table (GPT-2's learned positions). */
  table(name: string, rows: number, width: number): (ids: string) => string {
    return this.emit.table(name, rows, width);
  }

  /** An embedding: row lookup, and the tied head x·Eᵀ (named `output` when the dtype allows). */
  embedding(
    name: string,
    rows: number,
    width: number,
  ): { lookup: Embedding['lookup']; head(x: string, output: string): string } {
    if (this.dtype !== 'fp32') {
      const e = this.emit.embedding(name, rows, width);
      return { lookup: (ids) => e.lookup(ids), head: (x) => e.head(x) };
    }
    const g = this.g;
    const table = this.emit.vector(name, [rows, width], 'normal');
    return {
      lookup: (ids) => g.op('Gather', [table, ids], { axis: 0 }),
      head: (x, output) => g.contrib('FusedMatMul', [x, table], 1, { transB: 1 }, [output])[0],
    };
  }
}
