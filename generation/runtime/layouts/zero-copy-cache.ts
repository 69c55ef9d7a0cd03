/**
 * The KV cache of textgen's fused graphs, held in JS memory: per layer one key and one value buffer
 * laid out [batch, kvHeads, capacity, headDim]. The graph reads them in place (ORT takes fed typed
 * arrays without copying) and returns only the new positions' K/V, which {@link write} copies into
 * slots [length, length + added) of every row and head: a few KB per decode step, whatever the
 * context. Capacity grows in steps of about 1/8 (at least 64 slots) with one copy each time; unused
 * slots are fed too (the layout's mask hides them), so the step after a growth attends over at most
 * ~1/8 more slots than needed.
 */
import type { LayoutCache } from './types.js';

/** The cache's shape. */
export interface ZeroCopyShape {
  layers: number;
  kvHeads: number;
  headDim: number;
}

const ALIGN = 64;

/** Rounds up to a multiple of ALIGN. */
function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** The capacity to grow to for `needed` positions (bounded by `max`). */
export function grownCapacity(needed: number, max: number): number {
  return Math.min(max, align(needed + Math.max(ALIGN, needed / 8)));
}

/** One batch's zero-copy cache. */
export class ZeroCopyCache implements LayoutCache {
  length = 0;
  capacity = 0;
  /** keys[l], values[l]: [batch, kvHeads, capacity, headDim]. */
  keys: Float32Array[];
  values: Float32Array[];
  /** Spare buffers for reordering (allocated on the first reorder: beam search reorders every step). */
  private spare?: { keys: Float32Array[]; values: Float32Array[] };

  constructor(
    readonly shape: ZeroCopyShape,
    public batch: number,
    private readonly maxLength: number,
  ) {
    this.keys = this.alloc(0);
    this.values = this.alloc(0);
  }

  private alloc(capacity: number, batch = this.batch): Float32Array[] {
    const n = batch * this.shape.kvHeads * capacity * this.shape.headDim;
    return Array.from({ length: this.shape.layers }, () => new Float32Array(n));
  }

  /** Row-and-head blocks in a buffer. */
  private get blocks(): number {
    return this.batch * this.shape.kvHeads;
  }

  /** Makes room for `total` positions per row (one copy of the cache when it grows). */
  reserve(total: number): void {
    if (total <= this.capacity) return;
    if (total > this.maxLength)
      throw new RangeError(`the cache holds at most ${this.maxLength} positions, asked ${total}`);
    const capacity = grownCapacity(total, this.maxLength);
    const relayout = (old: Float32Array[]) =>
      old.map((buf) => {
        const fresh = new Float32Array(this.blocks * capacity * this.shape.headDim);
        this.copyBlocks(buf, this.capacity, fresh, capacity, this.length);
        return fresh;
      });
    this.keys = relayout(this.keys);
    this.values = relayout(this.values);
    this.spare = undefined;
    this.capacity = capacity;
  }

  /** Copies the first `length` positions of every row-and-head block between strides. */
  private copyBlocks(
    src: Float32Array,
    srcCap: number,
    dst: Float32Array,
    dstCap: number,
    length: number,
    rows?: readonly number[],
  ): void {
    const d = this.shape.headDim;
    const heads = this.shape.kvHeads;
    const count = rows ? rows.length : this.batch;
    for (let r = 0; r < count; r++) {
      const from = rows ? rows[r] : r;
      for (let h = 0; h < heads; h++) {
        const s = (from * heads + h) * srcCap * d;
        dst.set(src.subarray(s, s + length * d), (r * heads + h) * dstCap * d);
      }
    }
  }

  /**
   * Writes the new positions' K/V as the graph outputs them (`cache_new`: [2·layers·batch, kvHeads,
   * added, headDim], layer-major, keys before values) into slots [length, length + added);
   * {@link advance} then counts them.
   */
  write(fresh: Float32Array, added: number): void {
    const d = this.shape.headDim;
    const block = added * d;
    const blocks = this.blocks;
    for (let l = 0; l < this.shape.layers; l++) {
      const k = this.keys[l];
      const v = this.values[l];
      const keysAt = 2 * l * blocks * block;
      const valuesAt = keysAt + blocks * block;
      for (let b = 0; b < blocks; b++) {
        const at = (b * this.capacity + this.length) * d;
        k.set(fresh.subarray(keysAt + b * block, keysAt + (b + 1) * block), at);
        v.set(fresh.subarray(valuesAt + b * block, valuesAt + (b + 1) * block), at);
      }
    }
  }

  /** Counts `added` written positions. */
  advance(added: number): void {
    this.length += added;
  }

  reorder(rows: readonly number[]): void {
    if (rows.length === this.batch && rows.every((r, i) => r === i)) return;
    const next =
      this.spare && rows.length === this.batch
        ? this.spare
        : {
            keys: this.alloc(this.capacity, rows.length),
            values: this.alloc(this.capacity, rows.length),
          };
    const d = this.capacity;
    this.keys.forEach((buf, l) => this.copyBlocks(buf, d, next.keys[l], d, this.length, rows));
    this.values.forEach((buf, l) => this.copyBlocks(buf, d, next.values[l], d, this.length, rows));
    const old = { keys: this.keys, values: this.values };
    this.keys = next.keys;
    this.values = next.values;
    this.spare = rows.length === this.batch ? old : undefined;
    this.batch = rows.length;
  }

  rewind(length: number): void {
    // Slots past the new length are masked by the runner; nothing moves.
    if (length < this.length) this.length = Math.max(0, length);
  }

  appendRows(other: LayoutCache): void {
    if (!(other instanceof ZeroCopyCache) || other.shape.layers !== this.shape.layers)
      throw new Error('appendRows needs a cache of the same model');
    const length = Math.max(this.length, other.length);
    const capacity = Math.max(this.capacity, other.capacity);
    const batch = this.batch + other.batch;
    const d = this.shape.headDim;
    const merge = (mine: Float32Array[], theirs: Float32Array[]) =>
      mine.map((buf, l) => {
        const fresh = new Float32Array(batch * this.shape.kvHeads * capacity * d);
        this.copyBlocks(buf, this.capacity, fresh, capacity, this.length);
        const tail = fresh.subarray(this.blocks * capacity * d);
        other.copyBlocks(theirs[l], other.capacity, tail, capacity, other.length);
        return fresh;
      });
    this.keys = merge(this.keys, other.keys);
    this.values = merge(this.values, other.values);
    this.spare = undefined;
    this.batch = batch;
    this.capacity = capacity;
    this.length = length;
  }

  dispose(): void {
    this.keys = this.alloc(0, 0);
    this.values = this.alloc(0, 0);
    this.spare = undefined;
    this.length = 0;
    this.capacity = 0;
  }
}
