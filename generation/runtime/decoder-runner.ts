/**
 * Runs a decoder-only causal LM step by step: the optimum layout (model.onnx with or without
 * past_key_values), merged decoders (use_cache_branch), the older decoder + decoder_with_past pair,
 * and onnxruntime-genai models (packed or separate KV, int32 or int64 ids, fp16 tensors). A model
 * without past inputs is run by recomputing the whole sequence each step.
 */
import { ModelError } from '../errors.js';
import { isPastInput, kvSpecs, sessionIo, type KvShapeHints, type SessionIo } from './io-names.js';
import { GpuKvCache, type KvStore } from './gpu-kv-cache.js';
import type { GpuKvOps } from './gpu-kv-ops.js';
import { KvCache, type KvEntrySpec } from './kv-cache.js';
import { lastPositionLogits } from './logits.js';
import { tensor, type Session, type Tensor } from './ort.js';

/** The sessions of a causal LM: `first` serves steps without a cache when the export is split. */
export interface DecoderSessions {
  main: Session;
  first?: Session;
  /** Set when the sessions leave their presents on a WebGPU device: the cache then stays there. */
  gpu?: GpuKvOps;
}

/** Per-batch state: cache, attention-mask history, next position per row, and (no-cache models) ids. */
export class DecoderState {
  cache?: KvStore;
  masks: number[][];
  nextPositions: number[];
  /** Every id fed so far, per row (the cache's contents; the whole input when there is no cache). */
  history: number[][];

  constructor(
    batch: number,
    specs: KvEntrySpec[] | undefined,
    capacity: number,
    maxCapacity: number,
    gpu?: GpuKvOps,
  ) {
    if (specs)
      this.cache = gpu
        ? new GpuKvCache(specs, batch, gpu)
        : new KvCache(specs, batch, capacity, maxCapacity);
    this.masks = Array.from({ length: batch }, () => []);
    this.nextPositions = new Array(batch).fill(0);
    this.history = Array.from({ length: batch }, () => []);
  }

  /** Rows in the batch. */
  get batch(): number {
    return this.masks.length;
  }

  /** Positions held per row (cached or, without a cache, remembered). */
  get length(): number {
    return this.masks[0]?.length ?? 0;
  }

  /** New row i is old row rows[i] (beam search, sequence expansion). */
  reorder(rows: readonly number[]): void {
    this.cache?.reorder(rows);
    this.masks = rows.map((r) => this.masks[r].slice());
    this.nextPositions = rows.map((r) => this.nextPositions[r]);
    this.history = rows.map((r) => this.history[r].slice());
  }

  /** Keeps the first `length` positions of every row. */
  rewind(length: number): void {
    this.cache?.rewind(length);
    this.masks = this.masks.map((m) => m.slice(0, length));
    this.history = this.history.map((h) => h.slice(0, length));
    this.nextPositions = this.masks.map((m) => m.reduce((a, b) => a + b, 0));
  }

  /** Frees the cache. */
  dispose(): void {
    this.cache?.dispose();
  }
}

const ONE = BigInt(1);
const ZERO = BigInt(0);

/** Step-by-step execution of one causal LM. */
export class DecoderRunner {
  readonly io: SessionIo;
  readonly specs?: KvEntrySpec[];
  readonly vocabSize: number;
  private readonly names: {
    ids: string;
    mask?: string;
    positions?: string;
    keep?: string;
    branch?: string;
    logits: string;
  };
  private logitsScratch?: Float32Array;
  /** Set once the model has refused a multi-token run on top of a cache. */
  private stepwiseExtend = false;
  private keepOne?: Tensor;

  constructor(
    private readonly sessions: DecoderSessions,
    hints: KvShapeHints & { vocabSize: number },
    names?: Partial<Record<'ids' | 'mask' | 'positions' | 'logits', string>>,
  ) {
    this.io = sessionIo(sessions.main);
    const has = (n: string) => this.io.inputs.has(n);
    const ids = names?.ids ?? 'input_ids';
    if (!has(ids))
      throw new ModelError(
        `The model has no ${ids} input (inputs: ${[...this.io.inputs.keys()].join(', ')}).`,
        'textgen runs text-generation exports with input_ids.',
      );
    const logits = names?.logits ?? 'logits';
    if (!this.io.outputs.has(logits))
      throw new ModelError(
        `The model has no ${logits} output.`,
        'textgen needs a language-model head (logits output).',
      );
    this.names = {
      ids,
      mask: has(names?.mask ?? 'attention_mask') ? (names?.mask ?? 'attention_mask') : undefined,
      positions: has(names?.positions ?? 'position_ids')
        ? (names?.positions ?? 'position_ids')
        : undefined,
      keep: has('num_logits_to_keep')
        ? 'num_logits_to_keep'
        : has('logits_to_keep')
          ? 'logits_to_keep'
          : undefined,
      branch: has('use_cache_branch') ? 'use_cache_branch' : undefined,
      logits,
    };
    const past = [...this.io.inputs.keys()].filter(isPastInput);
    this.specs = past.length ? kvSpecs(this.io, past, hints) : undefined;
    const shape = this.io.outputs.get(logits)!.shape;
    this.vocabSize =
      typeof shape[shape.length - 1] === 'number'
        ? (shape[shape.length - 1] as number)
        : hints.vocabSize;
  }

  /** Whether the model keeps a KV cache (otherwise every step recomputes the sequence). */
  get cached(): boolean {
    return this.specs !== undefined;
  }

  /** Which per-row inputs the graph takes (rows of different lengths need both: decode/batch-scheduler-rows.ts). */
  get rowInputs(): { mask: boolean; positions: boolean; hostCache: boolean } {
    return {
      mask: this.names.mask !== undefined,
      positions: this.names.positions !== undefined,
      hostCache: this.sessions.gpu === undefined,
    };
  }

  /** Fresh state for `batch` rows. */
  newState(batch: number, maxLength: number): DecoderState {
    return new DecoderState(
      batch,
      this.specs,
      Math.min(256, maxLength),
      maxLength,
      this.sessions.gpu,
    );
  }

  /**
   * Feeds `tokens` (one row per sequence, equal lengths) with their mask bits (0 = left padding) and
   * returns the last position's logits of every row, [batch × vocab].
   */
  async forward(
    state: DecoderState,
    tokens: number[][],
    masks?: number[][],
  ): Promise<Float32Array> {
    const extending = state.cache !== undefined && state.cache.length > 0 && tokens[0].length > 1;
    if (extending && this.stepwiseExtend) return this.extendStepwise(state, tokens, masks);
    if (!extending) return this.run(state, tokens, masks);
    const before = state.length;
    try {
      return await this.run(state, tokens, masks);
    } catch {
      // Some exports (onnxruntime-genai attention-mask subgraphs) reject several new tokens on top of
      // a non-empty cache. Such a model extends its cache one token at a time from then on.
      state.rewind(before);
      this.stepwiseExtend = true;
      return this.extendStepwise(state, tokens, masks);
    }
  }

  private async extendStepwise(
    state: DecoderState,
    tokens: number[][],
    masks?: number[][],
  ): Promise<Float32Array> {
    let logits: Float32Array = new Float32Array(0);
    for (let i = 0; i < tokens[0].length; i++) {
      logits = await this.run(
        state,
        tokens.map((row) => [row[i]]),
        masks?.map((row) => [row[i]]),
      );
    }
    return logits;
  }

  private async run(
    state: DecoderState,
    tokens: number[][],
    masks?: number[][],
  ): Promise<Float32Array> {
    const batch = tokens.length;
    const added = tokens[0].length;
    await state.cache?.settle?.();
    const rowMasks = masks ?? tokens.map((row) => row.map(() => 1));
    const positions = tokens.map((row, r) =>
      rowMasks[r].map((m) => (m ? state.nextPositions[r]++ : 1)),
    );
    rowMasks.forEach((m, r) => state.masks[r].push(...m));
    tokens.forEach((row, r) => state.history[r].push(...row));
    let feedIds = tokens;
    let feedPositions = positions;
    if (!this.cached) {
      // No cache: the whole sequence goes in again; positions are recomputed from the mask.
      feedIds = state.history;
      feedPositions = state.masks.map((m) => {
        let p = 0;
        return m.map((bit) => (bit ? p++ : 1));
      });
    }
    const feeds = this.buildFeeds(state, feedIds, feedPositions);
    const cache = state.cache;
    const fetches: Record<string, Tensor | null> = { [this.names.logits]: null };
    if (cache) Object.assign(fetches, cache.fetches(added));
    const session =
      cache && cache.length === 0 && this.sessions.first ? this.sessions.first : this.sessions.main;
    if (session !== this.sessions.main) for (const spec of this.specs!) delete feeds[spec.input];
    const out = await session.run(feeds, fetches as Record<string, Tensor>);
    cache?.update(added, out);
    this.logitsScratch = lastPositionLogits(out[this.names.logits], batch, this.logitsScratch);
    return this.logitsScratch;
  }

  /**
   * Teacher-forced forward of one whole sequence from an empty cache (scoring): returns the logits of
   * its last `keep` positions as a view of the output, [keep × vocab] float32 or float16 bits. Only the
   * logits are fetched, so no present tensors are copied out.
   */
  async sequenceLogits(
    ids: number[],
    keep: number,
  ): Promise<{ data: Float32Array | Uint16Array; vocab: number }> {
    const state = this.newState(1, 1);
    try {
      state.masks[0] = ids.map(() => 1);
      const feeds = this.buildFeeds(state, [ids], [ids.map((_, i) => i)]);
      // logits_to_keep = k returns the last k positions; models without the input return all of them.
      if (this.names.keep) feeds[this.names.keep] = this.keepTensor(keep);
      const session = state.cache && this.sessions.first ? this.sessions.first : this.sessions.main;
      if (session !== this.sessions.main) for (const spec of this.specs!) delete feeds[spec.input];
      const out = (await session.run(feeds, [this.names.logits]))[this.names.logits];
      const vocab = out.dims[out.dims.length - 1];
      const steps = out.dims.length === 3 ? out.dims[1] : 1;
      const data = out.data as Float32Array | Uint16Array;
      return { data: data.subarray((steps - keep) * vocab, steps * vocab), vocab };
    } finally {
      state.dispose();
    }
  }

  /** `num_logits_to_keep` as the export declares it: a scalar in most, a one-element vector in some. */
  private keepTensor(keep: number): Tensor {
    // Decode steps always keep 1: that tensor is made once and fed every step.
    if (keep === 1 && this.keepOne) return this.keepOne;
    const info = this.io.inputs.get(this.names.keep!)!;
    const value = BigInt64Array.of(BigInt(keep));
    const made =
      info.type === 'int32'
        ? tensor('int32', Int32Array.of(keep), info.shape.length ? [1] : [])
        : tensor('int64', value, info.shape.length ? [1] : []);
    if (keep === 1) this.keepOne = made;
    return made;
  }

  private buildFeeds(
    state: DecoderState,
    ids: number[][],
    positions: number[][],
  ): Record<string, Tensor> {
    const { inputs } = this.io;
    const batch = ids.length;
    const seq = ids[0].length;
    const feeds: Record<string, Tensor> = {
      [this.names.ids]: intTensor(inputs.get(this.names.ids)!.type, ids, [batch, seq]),
    };
    if (this.names.mask) {
      const total = state.masks[0].length;
      feeds[this.names.mask] = intTensor(inputs.get(this.names.mask)!.type, state.masks, [
        batch,
        total,
      ]);
    }
    if (this.names.positions)
      feeds[this.names.positions] = intTensor(inputs.get(this.names.positions)!.type, positions, [
        batch,
        seq,
      ]);
    if (this.names.keep) feeds[this.names.keep] = this.keepTensor(1);
    if (this.names.branch)
      feeds[this.names.branch] = tensor(
        'bool',
        Uint8Array.of(state.cache && state.cache.length > 0 ? 1 : 0),
        [1],
      );
    if (state.cache) Object.assign(feeds, state.cache.feeds());
    return feeds;
  }
}

/**
 * An int64 or int32 tensor from plain numbers, flat or one array per row (rows are copied straight in:
 * Array.prototype.flat costs more than the rest of a tiny model's decode step).
 */
export function intTensor(type: string, values: number[] | number[][], dims: number[]): Tensor {
  const rows = (Array.isArray(values[0]) ? values : [values]) as number[][];
  const n = dims.reduce((a, b) => a * b, 1);
  let at = 0;
  if (type === 'int32') {
    const data = new Int32Array(n);
    for (const row of rows) {
      data.set(row, at);
      at += row.length;
    }
    return tensor('int32', data, dims);
  }
  const data = new BigInt64Array(n);
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      data[at++] = v === 1 ? ONE : v === 0 ? ZERO : BigInt(v);
    }
  }
  return tensor('int64', data, dims);
}
