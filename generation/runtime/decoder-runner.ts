/**
 * Runs a decoder-only causal LM step by step. The runner keeps the per-row bookkeeping every layout
 * shares (attention-mask history, next positions, fed ids) and delegates the cache to one strategy
 * chosen from the session's inputs and outputs when the model is opened (runtime/layouts/):
 * textgen's fused graphs get the zero-copy cache; optimum exports, merged decoders and split pairs
 * the growing cache; onnxruntime-genai's packed `past_N` the packed one; graphs without past inputs
 * recompute the sequence. Whether a foreign graph accepts several new tokens on a non-empty cache is
 * probed once, the first time it matters, on a scratch state.
 */
import { ModelError } from '../errors.js';
import { isPastInput, kvSpecs, sessionIo, type KvShapeHints, type SessionIo } from './io-names.js';
import type { KvEntrySpec } from './kv-cache.js';
import { lastPositionLogits } from './logits.js';
import type { Session } from './ort.js';
import type { GpuKvOps } from './gpu-kv-ops.js';
import { GrowingLayout } from './layouts/growing.js';
import { PackedLayout } from './layouts/packed.js';
import { DecoderInputs } from './layouts/plain-inputs.js';
import { probeExtension } from './layouts/probe-extension.js';
import { RecomputeLayout } from './layouts/recompute.js';
import type { CacheLayout, DecoderNames, LayoutCache } from './layouts/types.js';
import { ZeroCopyLayout, zeroCopyShape } from './layouts/zero-copy.js';

export { intTensor } from './layouts/plain-inputs.js';

/** The sessions of a causal LM: `first` serves steps without a cache when the export is split. */
export interface DecoderSessions {
  main: Session;
  first?: Session;
  /** Set when the sessions leave their presents on a WebGPU device: the cache then stays there. */
  gpu?: GpuKvOps;
}

/** Per-batch state: the layout's cache, attention-mask history, next position and fed ids per row. */
export class DecoderState {
  masks: number[][];
  nextPositions: number[];
  /** Every id fed so far, per row (the cache's contents; the whole input when there is no cache). */
  history: number[][];

  constructor(
    batch: number,
    readonly cache: LayoutCache | undefined,
  ) {
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

  /** Keeps only the rows `rows` (in that order): a batch member that finished leaves. */
  dropRows(keep: readonly number[]): void {
    this.reorder(keep);
  }

  /**
   * Appends the rows of `other` (a state of the same runner, e.g. a request prefilled on its own)
   * after this batch's rows, so a running batch can take in new sequences. Rows of the shorter state
   * are padded with masked slots after their end; each row keeps its own positions.
   */
  appendRows(other: DecoderState): void {
    if (this.cache && other.cache) {
      if (!this.cache.appendRows)
        throw new Error('this cache (kept on a GPU) cannot take in rows: run it in static mode');
      this.cache.appendRows(other.cache);
    } else if (this.cache || other.cache) throw new Error('appendRows needs states of one runner');
    const length = Math.max(this.length, other.length);
    const pad = (m: number[], fill: number) => [...m, ...new Array(length - m.length).fill(fill)];
    this.masks = [...this.masks, ...other.masks].map((m) => pad(m, 0));
    this.history = [...this.history, ...other.history].map((h) => pad(h, 0));
    this.nextPositions = [...this.nextPositions, ...other.nextPositions];
  }

  /** Frees the cache. */
  dispose(): void {
    this.cache?.dispose();
  }
}

/** Step-by-step execution of one causal LM. */
export class DecoderRunner {
  readonly io: SessionIo;
  /** The growing/packed layouts' cache entries (undefined for the others). */
  readonly specs?: KvEntrySpec[];
  readonly vocabSize: number;
  /** The cache strategy chosen for this model. */
  readonly layout: CacheLayout;
  private readonly names: DecoderNames;
  private logitsScratch?: Float32Array;
  /** Whether one run may add several tokens on a non-empty cache (probed on first need). */
  private extendsInOneRun?: boolean;

  constructor(
    sessions: DecoderSessions,
    hints: KvShapeHints & { vocabSize: number },
    names?: Partial<Record<'ids' | 'mask' | 'positions' | 'logits', string>>,
  ) {
    this.io = sessionIo(sessions.main);
    this.names = decoderNames(this.io, names);
    const inputs = new DecoderInputs(this.io, this.names);
    const fused = zeroCopyShape(this.io);
    const past = [...this.io.inputs.keys()].filter(isPastInput);
    if (fused) {
      this.layout = new ZeroCopyLayout(sessions.main, inputs, fused);
      this.extendsInOneRun = true;
    } else if (past.length) {
      this.specs = kvSpecs(this.io, past, hints);
      const packed = this.specs.some((s) => s.lead.length > 0);
      const Layout = packed ? PackedLayout : GrowingLayout;
      this.layout = new Layout(sessions.main, inputs, this.specs, sessions.first, sessions.gpu);
    } else {
      this.layout = new RecomputeLayout(sessions.main, inputs);
      this.extendsInOneRun = true;
    }
    const known = new Set([...Object.values(this.names), ...past]);
    if (fused)
      for (const name of this.io.inputs.keys()) if (/^cache\.\d+\./.test(name)) known.add(name);
    const unknown = [...this.io.inputs.keys()].filter((n) => !known.has(n));
    if (unknown.length)
      throw new ModelError(
        `The model has inputs textgen cannot feed: ${unknown.slice(0, 4).join(', ')}${unknown.length > 4 ? ` and ${unknown.length - 4} more` : ''}.`,
        /^cache\./.test(unknown[0])
          ? 'This fused graph comes from another textgen version; convert or train the model again.'
          : 'textgen runs decoders with input_ids, attention_mask, position_ids and KV-cache inputs.',
      );
    const shape = this.io.outputs.get(this.names.logits)!.shape;
    this.vocabSize =
      typeof shape[shape.length - 1] === 'number'
        ? (shape[shape.length - 1] as number)
        : hints.vocabSize;
  }

  /** Whether one run may add several tokens on a non-empty cache (undefined: not probed yet). */
  get multiTokenExtension(): boolean | undefined {
    return this.extendsInOneRun;
  }

  /** Whether prefill returns logits for the last position only (num_logits_to_keep or logits_to_keep). */
  get trimsLogits(): boolean {
    return this.names.keep !== undefined;
  }

  /** Whether the model keeps a KV cache (otherwise every step recomputes the sequence). */
  get cached(): boolean {
    return this.layout.cached;
  }

  /**
   * Which per-row inputs the graph takes (rows of different lengths need both:
   * decode/batch-scheduler-rows.ts), and whether the cache is in host memory (a WebGPU-resident one
   * cannot be spliced).
   */
  get rowInputs(): { mask: boolean; positions: boolean; hostCache: boolean } {
    return {
      mask: this.names.mask !== undefined,
      positions: this.names.positions !== undefined,
      hostCache: !(this.layout instanceof GrowingLayout && this.layout.onGpu),
    };
  }

  /** Fresh state for `batch` rows. */
  newState(batch: number, maxLength: number): DecoderState {
    return new DecoderState(batch, this.layout.newCache(batch, maxLength));
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
    const extending = state.cache !== undefined && state.length > 0 && tokens[0].length > 1;
    if (extending) {
      this.extendsInOneRun ??= await probeExtension({
        newState: (batch, maxLength) => this.newState(batch, maxLength),
        runOnce: (probeState, ids) => this.run(probeState, ids),
      });
      if (!this.extendsInOneRun) {
        let logits: Float32Array = new Float32Array(0);
        for (let i = 0; i < tokens[0].length; i++)
          logits = await this.run(
            state,
            tokens.map((row) => [row[i]]),
            masks?.map((row) => [row[i]]),
          );
        return logits;
      }
    }
    return this.run(state, tokens, masks);
  }

  /** One run of the model on `tokens`, recording them in the state's bookkeeping first. */
  private async run(
    state: DecoderState,
    tokens: number[][],
    masks?: number[][],
  ): Promise<Float32Array> {
    const rowMasks = masks ?? tokens.map((row) => row.map(() => 1));
    const positions = tokens.map((row, r) =>
      rowMasks[r].map((m) => (m ? state.nextPositions[r]++ : 1)),
    );
    rowMasks.forEach((m, r) => state.masks[r].push(...m));
    tokens.forEach((row, r) => state.history[r].push(...row));
    const logits = await this.layout.run(state.cache, {
      tokens,
      positions,
      masks: state.masks,
      history: state.history,
      keep: 1,
      updateCache: true,
    });
    this.logitsScratch = lastPositionLogits(logits, tokens.length, this.logitsScratch);
    return this.logitsScratch;
  }

  /**
   * Teacher-forced forward of one whole sequence from an empty cache (scoring): returns the logits of
   * its last `keep` positions as a view of the output, [keep × vocab] float32 or float16 bits. Only the
   * logits are fetched, so no cache is copied out.
   */
  async sequenceLogits(
    ids: number[],
    keep: number,
  ): Promise<{ data: Float32Array | Uint16Array; vocab: number }> {
    const state = this.newState(1, ids.length);
    try {
      const mask = ids.map(() => 1);
      // Models without num_logits_to_keep return every position; the last `keep` are taken below.
      const out = await this.layout.run(state.cache, {
        tokens: [ids],
        positions: [ids.map((_, i) => i)],
        masks: [mask],
        history: [ids],
        keep,
        updateCache: false,
      });
      const vocab = out.dims[out.dims.length - 1];
      const steps = out.dims.length === 3 ? out.dims[1] : 1;
      const data = out.data as Float32Array | Uint16Array;
      return { data: data.subarray((steps - keep) * vocab, steps * vocab), vocab };
    } finally {
      state.dispose();
    }
  }
}

/** The plain input names a session has (defaults or genai_config's), checked. */
function decoderNames(
  io: SessionIo,
  names?: Partial<Record<'ids' | 'mask' | 'positions' | 'logits', string>>,
): DecoderNames {
  const has = (n: string) => io.inputs.has(n);
  const ids = names?.ids ?? 'input_ids';
  if (!has(ids))
    throw new ModelError(
      `The model has no ${ids} input (inputs: ${[...io.inputs.keys()].join(', ')}).`,
      'textgen runs text-generation exports with input_ids.',
    );
  const logits = names?.logits ?? 'logits';
  if (!io.outputs.has(logits))
    throw new ModelError(
      `The model has no ${logits} output.`,
      'textgen needs a language-model head (logits output).',
    );
  const mask = names?.mask ?? 'attention_mask';
  const positions = names?.positions ?? 'position_ids';
  return {
    ids,
    mask: has(mask) ? mask : undefined,
    positions: has(positions) ? positions : undefined,
    keep: has('num_logits_to_keep')
      ? 'num_logits_to_keep'
      : has('logits_to_keep')
        ? 'logits_to_keep'
        : undefined,
    branch: has('use_cache_branch') ? 'use_cache_branch' : undefined,
    logits,
  };
}
