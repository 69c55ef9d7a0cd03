/**
 * The KV cache kept on the GPU (WebGPU): each step's `present` outputs come back as `gpu-buffer`
 * tensors (the session's preferredOutputLocation) and are fed straight back as the next step's pasts;
 * only the logits cross to the host. Every GPU tensor is owned by one {@link GpuLedger} entry and
 * disposed exactly once, when it is replaced or the cache is dropped, so GPU memory does not grow
 * between generations.
 *
 * Reorder (beams, num_return_sequences) and rewind (chat reuse) cannot be done from JavaScript
 * (Node cannot read or write GPU buffers), so they are recorded and applied by one GPU gather+slice
 * run per tensor at the start of the next forward ({@link GpuKvOps}); `settle()` is that step.
 * Same operations as the CPU KvCache, so a decoder state holds either one.
 */
import type { GpuKvOps } from './gpu-kv-ops.js';
import type { KvEntrySpec } from './kv-cache.js';
import { tensor, type Tensor } from './ort.js';

/** What a decoder state needs from its KV cache, on the host (KvCache) or on the GPU. */
export interface KvStore {
  length: number;
  readonly batch: number;
  /** The past inputs for the next run. */
  feeds(): Record<string, Tensor>;
  /** The present outputs to fetch (preallocated host tensors, or null to let the session place them). */
  fetches(added: number): Record<string, Tensor | null>;
  /** Makes the run's presents the new past. */
  update(added: number, outputs: Record<string, Tensor>): void;
  rewind(length: number): void;
  reorder(rows: readonly number[]): void;
  /** Applies recorded reorders/rewinds before the next run (GPU caches). */
  settle?(): Promise<void>;
  dispose(): void;
}

/** Counts GPU tensors taken over and disposed; a second disposal of one tensor is a bug and throws. */
export class GpuLedger {
  private readonly live = new Set<Tensor>();
  adopted = 0;
  disposed = 0;
  /** Adopted tensors per element type (fp16 models keep fp16 caches). */
  readonly types: Record<string, number> = {};

  /** Takes ownership of a session output (host tensors are not tracked: the GC frees them). */
  adopt(t: Tensor): Tensor {
    if (t.location === 'gpu-buffer') {
      if (this.live.has(t)) throw new Error('internal: a GPU tensor was adopted twice');
      this.live.add(t);
      this.adopted++;
      this.types[t.type] = (this.types[t.type] ?? 0) + 1;
    }
    return t;
  }

  /** Disposes an owned GPU tensor. */
  release(t: Tensor): void {
    if (t.location !== 'gpu-buffer') return;
    if (!this.live.delete(t)) throw new Error('internal: a GPU tensor was released twice');
    t.dispose();
    this.disposed++;
  }

  /** Disposes a session output nobody keeps (counted like an adopted one). */
  discard(t: Tensor): void {
    this.release(this.adopt(t));
  }

  /** GPU tensors held now. */
  get held(): number {
    return this.live.size;
  }
}

/** The ledger of this thread's GPU caches (read by the memory tests and the bench). */
export const gpuLedger = new GpuLedger();

/**
 * Named GPU tensors with a batch axis at `lead` and a sequence axis at lead + 2, whose row reorders
 * and truncations are recorded and applied together by {@link settle}.
 */
export class GpuTensorSet {
  private readonly entries = new Map<string, { t: Tensor; lead: number }>();
  private rows?: number[];
  private cut?: number;

  constructor(private readonly ops: GpuKvOps) {}

  get(name: string): Tensor | undefined {
    return this.entries.get(name)?.t;
  }

  /** Replaces (and disposes) the tensor under `name`. */
  set(name: string, t: Tensor, lead: number): void {
    const old = this.entries.get(name);
    this.entries.set(name, { t: gpuLedger.adopt(t), lead });
    if (old && old.t !== t) gpuLedger.release(old.t);
  }

  get size(): number {
    return this.entries.size;
  }

  /** New row i is old row rows[i] (composes with a pending reorder). */
  reorder(rows: readonly number[]): void {
    const prior = this.rows;
    this.rows = prior ? rows.map((r) => prior[r]) : rows.slice();
  }

  /** Keeps the first `length` positions. */
  truncate(length: number): void {
    this.cut = Math.min(length, this.cut ?? length);
  }

  get pending(): boolean {
    return this.rows !== undefined || this.cut !== undefined;
  }

  /** Runs the recorded gather/slice on every tensor. */
  async settle(): Promise<void> {
    if (!this.pending) return;
    const { rows, cut } = this;
    this.rows = undefined;
    this.cut = undefined;
    for (const [name, { t, lead }] of [...this.entries]) {
      const batch = t.dims[lead];
      const length = cut ?? t.dims[lead + 2];
      const picked = rows ?? Array.from({ length: batch }, (_, i) => i);
      if (picked.length === batch && picked.every((r, i) => r === i) && length === t.dims[lead + 2])
        continue;
      this.set(name, await this.ops.gatherSlice(t, lead, picked, length), lead);
    }
  }

  /** Disposes every tensor. */
  clear(): void {
    for (const { t } of this.entries.values()) gpuLedger.release(t);
    this.entries.clear();
    this.rows = undefined;
    this.cut = undefined;
  }
}

/** The KV cache of one batch, resident on the WebGPU device. */
export class GpuKvCache implements KvStore {
  /** Positions cached per row. */
  length = 0;
  private readonly tensors: GpuTensorSet;

  constructor(
    private readonly specs: KvEntrySpec[],
    public batch: number,
    ops: GpuKvOps,
  ) {
    this.tensors = new GpuTensorSet(ops);
  }

  feeds(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const spec of this.specs) {
      const held = this.length > 0 ? this.tensors.get(spec.input) : undefined;
      // The first run has no past: an empty host tensor (nothing to upload).
      out[spec.input] =
        held ??
        tensor(spec.type, spec.type === 'float16' ? new Uint16Array(0) : new Float32Array(0), [
          ...spec.lead,
          this.batch,
          spec.heads,
          0,
          spec.headDim,
        ]);
    }
    return out;
  }

  fetches(): Record<string, Tensor | null> {
    return Object.fromEntries(this.specs.map((s) => [s.output, null]));
  }

  update(added: number, outputs: Record<string, Tensor>): void {
    for (const spec of this.specs)
      this.tensors.set(spec.input, outputs[spec.output], spec.lead.length);
    this.length += added;
  }

  rewind(length: number): void {
    if (length >= this.length) return;
    this.length = Math.max(0, length);
    if (this.length === 0) this.tensors.clear();
    else this.tensors.truncate(this.length);
  }

  reorder(rows: readonly number[]): void {
    if (rows.length === this.batch && rows.every((r, i) => r === i)) return;
    this.batch = rows.length;
    if (this.length > 0) this.tensors.reorder(rows);
  }

  settle(): Promise<void> {
    return this.tensors.settle();
  }

  dispose(): void {
    this.tensors.clear();
    this.length = 0;
  }
}
