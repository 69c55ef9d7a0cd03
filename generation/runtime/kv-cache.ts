/**
 * The KV cache behind a small interface: feeds (past inputs), fetches (preallocated present outputs),
 * update (swap presents in as the next past), rewind, reorder (beam search, sequence expansion) and
 * dispose. Each entry is laid out [...lead, batch, heads, length, headDim] (lead is [] for the optimum
 * layout and [2] for onnxruntime-genai's packed "past_N" tensors).
 *
 * Two buffers per entry are used in turn, with room to grow, so a decode step allocates no tensor
 * memory: ORT writes the presents straight into the spare buffer (`run(feeds, fetches)`), which then
 * becomes the past of the next step.
 */
import { tensor, type ElementType, type Tensor } from './ort.js';
import type { LayoutCache } from './layouts/types.js';

/** One cache tensor pair. */
export interface KvEntrySpec {
  input: string;
  output: string;
  lead: number[];
  heads: number;
  headDim: number;
  type: Extract<ElementType, 'float32' | 'float16'>;
}

type Buffer = Float32Array | Uint16Array;

interface Entry {
  spec: KvEntrySpec;
  buffers: [Buffer, Buffer];
  /** Which of the two buffers holds the current past. */
  current: 0 | 1;
}

/** The cache of one batch of sequences. */
export class KvCache implements LayoutCache {
  /** Positions cached per row. */
  length = 0;
  private readonly entries: Entry[];
  private capacity: number;

  constructor(
    specs: KvEntrySpec[],
    public batch: number,
    initialCapacity = 64,
    private readonly maxCapacity = Number.MAX_SAFE_INTEGER,
  ) {
    this.capacity = Math.min(Math.max(1, initialCapacity), maxCapacity);
    this.entries = specs.map((spec) => ({
      spec,
      buffers: [this.alloc(spec, this.capacity), this.alloc(spec, this.capacity)],
      current: 0,
    }));
  }

  private alloc(spec: KvEntrySpec, capacity: number): Buffer {
    const n = this.outer(spec) * this.batch * spec.heads * capacity * spec.headDim;
    return spec.type === 'float16' ? new Uint16Array(n) : new Float32Array(n);
  }

  private outer(spec: KvEntrySpec): number {
    return spec.lead.reduce((a, b) => a * b, 1);
  }

  private dims(spec: KvEntrySpec, length: number): number[] {
    return [...spec.lead, this.batch, spec.heads, length, spec.headDim];
  }

  private view(entry: Entry, which: 0 | 1, length: number): Tensor {
    const { spec } = entry;
    const n = this.outer(spec) * this.batch * spec.heads * length * spec.headDim;
    return tensor(spec.type, entry.buffers[which].subarray(0, n), this.dims(spec, length));
  }

  /** The past inputs for the next run. */
  feeds(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const e of this.entries) out[e.spec.input] = this.view(e, e.current, this.length);
    return out;
  }

  /** Preallocated present outputs for a run that adds `added` positions per row. */
  fetches(added: number): Record<string, Tensor> {
    const total = this.length + added;
    if (total > this.capacity) this.grow(total);
    const out: Record<string, Tensor> = {};
    for (const e of this.entries) out[e.spec.output] = this.view(e, e.current === 0 ? 1 : 0, total);
    return out;
  }

  /** Makes the presents written by the last run (into the fetches) the new past. */
  update(added: number): void {
    for (const e of this.entries) e.current = e.current === 0 ? 1 : 0;
    this.length += added;
  }

  /** Drops every position from `length` on (chat prefix reuse, regeneration). */
  rewind(length: number): void {
    if (length >= this.length) return;
    for (const e of this.entries) this.compact(e.buffers[e.current], e.spec, this.length, length);
    this.length = Math.max(0, length);
  }

  /**
   * Rebuilds the batch from rows of the current one: new row i is old row `rows[i]` (beam reordering,
   * or expanding one prompt into num_return_sequences rows).
   */
  reorder(rows: readonly number[]): void {
    const oldBatch = this.batch;
    const identity = rows.length === oldBatch && rows.every((r, i) => r === i);
    if (identity) return;
    this.batch = rows.length;
    const needed = this.capacity;
    for (const e of this.entries) {
      const { spec } = e;
      const src = e.buffers[e.current];
      const row = spec.heads * this.length * spec.headDim;
      const size = this.outer(spec) * this.batch * spec.heads * needed * spec.headDim;
      let dst = e.buffers[e.current === 0 ? 1 : 0];
      if (dst.length < size)
        dst = spec.type === 'float16' ? new Uint16Array(size) : new Float32Array(size);
      for (let o = 0; o < this.outer(spec); o++) {
        for (let i = 0; i < rows.length; i++) {
          const from = (o * oldBatch + rows[i]) * row;
          dst.set(src.subarray(from, from + row), (o * this.batch + i) * row);
        }
      }
      const other = e.current === 0 ? 1 : 0;
      e.buffers[other] = dst;
      if (e.buffers[e.current].length < size)
        e.buffers[e.current] =
          spec.type === 'float16' ? new Uint16Array(size) : new Float32Array(size);
      e.current = other;
    }
  }

  /**
   * Row splicing for continuous batching (decode/batch-scheduler-rows.ts): the current past of every
   * entry, laid out compactly as [...lead, batch, heads, length, headDim].
   */
  pasts(): Array<{ spec: KvEntrySpec; data: Float32Array | Uint16Array }> {
    return this.entries.map((e) => ({ spec: e.spec, data: e.buffers[e.current] }));
  }

  /**
   * Replaces the contents with `batch` rows of `length` positions: `write(i, fresh)` fills entry i's
   * zeroed buffer (laid out as {@link pasts}); the buffers keep room to grow.
   */
  rebuild(batch: number, length: number, write: (entry: number, fresh: Buffer) => void): void {
    this.batch = batch;
    this.capacity = Math.min(this.maxCapacity, Math.max(length + 1, this.capacity));
    this.entries.forEach((e, i) => {
      const fresh = this.alloc(e.spec, this.capacity);
      write(i, fresh);
      e.buffers = [fresh, this.alloc(e.spec, this.capacity)];
      e.current = 0;
    });
    this.length = length;
  }

  /**
   * Appends the rows of `other` (same entries) after this batch's rows; the shorter side's rows are
   * padded with zeros after their end, up to the longer length (the runner masks those slots).
   */
  appendRows(other: LayoutCache): void {
    if (!(other instanceof KvCache) || other.entries.length !== this.entries.length)
      throw new Error('appendRows needs a cache of the same model');
    const length = Math.max(this.length, other.length);
    const batch = this.batch + other.batch;
    const capacity = Math.min(this.maxCapacity, Math.max(this.capacity, other.capacity, length));
    this.entries.forEach((e, i) => {
      const o = other.entries[i];
      const { spec } = e;
      const fresh = [this.allocFor(spec, batch, capacity), this.allocFor(spec, batch, capacity)];
      const d = spec.headDim;
      const copyRows = (src: Buffer, from: number, rows: number, len: number, at: number) => {
        for (let lead = 0; lead < this.outer(spec); lead++)
          for (let r = 0; r < rows; r++)
            for (let h = 0; h < spec.heads; h++) {
              const s0 = ((lead * from + r) * spec.heads + h) * len * d;
              const t0 = ((lead * batch + at + r) * spec.heads + h) * length * d;
              fresh[0].set(src.subarray(s0, s0 + len * d), t0);
            }
      };
      copyRows(e.buffers[e.current], this.batch, this.batch, this.length, 0);
      copyRows(o.buffers[o.current], other.batch, other.batch, other.length, this.batch);
      e.buffers = [fresh[0], fresh[1]];
      e.current = 0;
    });
    this.batch = batch;
    this.length = length;
    this.capacity = capacity;
  }

  private allocFor(spec: KvEntrySpec, batch: number, capacity: number): Buffer {
    const n = this.outer(spec) * batch * spec.heads * capacity * spec.headDim;
    return spec.type === 'float16' ? new Uint16Array(n) : new Float32Array(n);
  }

  /** Frees the buffers. */
  dispose(): void {
    for (const e of this.entries) e.buffers = [new Float32Array(0), new Float32Array(0)];
    this.length = 0;
  }

  /** Re-lays a [.., B, H, from, D] block as [.., B, H, to, D] in place (to < from: copies move forward only). */
  private compact(buf: Buffer, spec: KvEntrySpec, from: number, to: number): void {
    const blocks = this.outer(spec) * this.batch * spec.heads;
    const d = spec.headDim;
    for (let b = 0; b < blocks; b++)
      buf.copyWithin(b * to * d, b * from * d, b * from * d + to * d);
  }

  private grow(needed: number): void {
    const capacity = Math.min(this.maxCapacity, Math.max(needed, this.capacity * 2));
    for (const e of this.entries) {
      const fresh = this.alloc(e.spec, capacity);
      const n = this.outer(e.spec) * this.batch * e.spec.heads * this.length * e.spec.headDim;
      fresh.set(e.buffers[e.current].subarray(0, n));
      e.buffers =
        e.current === 0
          ? [fresh, this.alloc(e.spec, capacity)]
          : [this.alloc(e.spec, capacity), fresh];
    }
    this.capacity = capacity;
  }
}
