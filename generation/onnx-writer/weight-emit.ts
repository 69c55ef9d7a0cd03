/**
 * How an emitter's weights are stored for each output dtype (the transformers.js names: fp32, fp16,
 * q8, q4). Emitters ask for matrix products and embedding lookups by Hugging Face name; this module
 * decides the initializers and nodes:
 * - fp32: float32 weights, MatMul / Gather.
 * - fp16: float16 weights behind a Cast to float32. ORT folds the Cast once at load, so the file is
 *   half the size while the graph's inputs, outputs, KV cache and arithmetic stay float32 (fast and
 *   exact on CPUs without fp16 units, and transformers.js feeds it like any fp32 model).
 * - q4 / q8: MatMulNBits (block 32, accuracy_level 4) for every linear layer and the LM head, tied or
 *   not; embeddings as GatherBlockQuantized over the same blobs when the width is a multiple of 32.
 * Norm weights and biases stay float32 in every dtype.
 */
import {
  blocksPerColumn,
  gatherBlockQuantizedAttributes,
  matMulNBitsAttributes,
  packBlocks,
  transpose,
  type BlockBits,
  type PackedBlocks,
} from './block-quant.js';
import { floatToHalfBits } from '../../common/float16.js';
import type { WeightInit, WeightSource } from './decoder-common.js';
import { DataType, type GraphBuilder } from './graph.js';

/** The storage dtypes an emitter writes, named as transformers.js names its files' variants. */
export type WeightDtype = 'fp32' | 'fp16' | 'q4' | 'q8';

/** The weight dtypes in the order `--dtype` lists them. */
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['fp32', 'fp16', 'q8', 'q4'];

/** MatMulNBits block size used for every quantized weight. */
export const QUANT_BLOCK = 32;

/** An embedding table: row lookup, and the tied LM head over the same weights. */
export interface Embedding {
  /** The rows of `ids` as float32 [..., width]. */
  lookup(ids: string): string;
  /** x·tableᵀ (the tied head). */
  head(x: string): string;
}

/** Emits weights of one dtype into a graph, read from a {@link WeightSource}. */
export class WeightEmitter {
  constructor(
    private readonly g: GraphBuilder,
    private readonly source: WeightSource,
    readonly dtype: WeightDtype = 'fp32',
  ) {}

  private get bits(): BlockBits | undefined {
    return this.dtype === 'q4' ? 4 : this.dtype === 'q8' ? 8 : undefined;
  }

  /** A float32 weight in every dtype (norm weights, biases, position tables of quantized models). */
  vector(name: string, dims: number[], init: WeightInit): string {
    return this.g.weight(name, { dims, data: this.source(name, dims, init) });
  }

  /** A matrix stored in the dtype's float format and read as float32 (fp32 and fp16 only). */
  private float(name: string, dims: number[], data: Float32Array): string {
    if (this.dtype !== 'fp16') return this.g.weight(name, { dims, data });
    const half = this.g.weight(name, { dims, data: floatToHalfBits(data) });
    return this.g.op('Cast', [half], { to: DataType.float32 });
  }

  private packed(name: string, n: number, k: number, packed: PackedBlocks): [string, string] {
    const blocks = blocksPerColumn(k, QUANT_BLOCK);
    const blob = (QUANT_BLOCK * this.bits!) / 8;
    return [
      this.g.weight(name, { dims: [n, blocks, blob], data: packed.data, type: 'uint8' }),
      this.g.weight(`${name}_scales`, { dims: [n * blocks], data: packed.scales }),
    ];
  }

  private nbits(x: string, weights: [string, string], n: number, k: number): string {
    return this.g.contrib(
      'MatMulNBits',
      [x, ...weights],
      1,
      matMulNBitsAttributes(n, k, this.bits!, QUANT_BLOCK),
    )[0];
  }

  /** x·W (+ b) for the [in, out] weight `name` and, when given, the [out] bias `bias`. */
  linear(x: string, name: string, inDim: number, outDim: number, bias?: string): string {
    const w = this.source(name, [inDim, outDim], 'normal');
    let y: string;
    if (this.bits) {
      // MatMulNBits takes the weight as [N, K]: one row per output column.
      const rows = transpose(w, inDim, outDim);
      y = this.nbits(
        x,
        this.packed(name, outDim, inDim, packRows(rows, outDim, inDim, this.bits)),
        outDim,
        inDim,
      );
    } else {
      y = this.g.op('MatMul', [x, this.float(name, [inDim, outDim], w)]);
    }
    return bias ? this.g.op('Add', [y, this.vector(bias, [outDim], 'zeros')]) : y;
  }

  /** A lookup-only table (learned positions): float32, or float16 widened after the Gather for fp16. */
  table(name: string, rows: number, width: number): (ids: string) => string {
    const data = this.source(name, [rows, width], 'normal');
    const g = this.g;
    if (this.dtype !== 'fp16') {
      const plain = g.weight(name, { dims: [rows, width], data });
      return (ids) => g.op('Gather', [plain, ids], { axis: 0 });
    }
    const half = g.weight(name, { dims: [rows, width], data: floatToHalfBits(data) });
    return (ids) =>
      g.op('Cast', [g.op('Gather', [half, ids], { axis: 0 })], { to: DataType.float32 });
  }

  /** The [rows, width] embedding `name`; quantized dtypes share one blob between lookup and head. */
  embedding(name: string, rows: number, width: number): Embedding {
    const table = this.source(name, [rows, width], 'normal');
    const g = this.g;
    if (this.bits) {
      const bits = this.bits;
      const weights = this.packed(name, rows, width, packRows(table, rows, width, bits));
      const head = (x: string) => this.nbits(x, weights, rows, width);
      if (width % QUANT_BLOCK !== 0) {
        // GatherBlockQuantized needs whole blocks per row: look rows up in a float32 copy.
        const plain = g.weight(`${name}.float`, { dims: [rows, width], data: table });
        return { lookup: (ids) => g.op('Gather', [plain, ids], { axis: 0 }), head };
      }
      const data = g.op('Reshape', [weights[0], g.ints([rows, (width * bits) / 8])]);
      const scales = g.op('Reshape', [weights[1], g.ints([rows, width / QUANT_BLOCK])]);
      return {
        lookup: (ids) =>
          g.contrib(
            'GatherBlockQuantized',
            [data, ids, scales],
            1,
            gatherBlockQuantizedAttributes(bits, QUANT_BLOCK),
          )[0],
        head,
      };
    }
    if (this.dtype === 'fp16') {
      const half = g.weight(name, { dims: [rows, width], data: floatToHalfBits(table) });
      return {
        // Gathering fp16 rows and widening them keeps no float32 copy of the table for the lookup.
        lookup: (ids) =>
          g.op('Cast', [g.op('Gather', [half, ids], { axis: 0 })], { to: DataType.float32 }),
        head: (x) =>
          g.op('MatMul', [
            x,
            g.op('Transpose', [g.op('Cast', [half], { to: DataType.float32 })], { perm: [1, 0] }),
          ]),
      };
    }
    const plain = g.weight(name, { dims: [rows, width], data: table });
    return {
      lookup: (ids) => g.op('Gather', [plain, ids], { axis: 0 }),
      // ORT folds the Transpose of the initializer once at load.
      head: (x) => g.op('MatMul', [x, g.op('Transpose', [plain], { perm: [1, 0] })]),
    };
  }
}

function packRows(rows: Float32Array, n: number, k: number, bits: BlockBits): PackedBlocks {
  return packBlocks(rows, n, k, bits, QUANT_BLOCK);
}
