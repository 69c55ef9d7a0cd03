/**
 * The contract between the decoder runner and its cache-layout strategies. The runner keeps what
 * every layout shares (the attention-mask history, next positions and fed ids per row) and builds
 * the plain inputs; a layout owns the KV cache (if any), decides what the model is fed besides
 * those, runs the session and keeps its cache in step.
 */
import type { Tensor } from '../ort.js';

/** The names of a causal LM's plain (non-cache) inputs and its logits output. */
export interface DecoderNames {
  ids: string;
  mask?: string;
  positions?: string;
  keep?: string;
  branch?: string;
  logits: string;
}

/** One run's new tokens, after the runner has recorded them in the row bookkeeping. */
export interface StepInput {
  /** New ids per row (equal lengths). */
  tokens: number[][];
  /** Their positions per row (pad slots get 1, as transformers does). */
  positions: number[][];
  /** The attention-mask history per row, including the new tokens' bits. */
  masks: number[][];
  /** Every id fed so far per row, including the new ones. */
  history: number[][];
  /** How many last positions' logits are wanted (1 for decode steps). */
  keep: number;
  /** false when only the logits matter (scoring a sequence): the layout may skip its cache updates. */
  updateCache: boolean;
}

/** The per-batch cache a layout keeps (absent for layouts that recompute). */
export interface LayoutCache {
  /** Positions cached per row. */
  readonly length: number;
  /** Rows in the batch. */
  readonly batch: number;
  /** New row i is old row rows[i] (beam reordering, sequence expansion, dropping rows). */
  reorder(rows: readonly number[]): void;
  /** Drops every position from `length` on. */
  rewind(length: number): void;
  /**
   * Appends the rows of `other` (a cache of the same layout) after this batch's rows. Rows shorter
   * than the longer batch are padded after their end; the runner masks those slots. Absent where
   * rows cannot be spliced (a cache kept on a GPU).
   */
  appendRows?(other: LayoutCache): void;
  /** Frees the buffers. */
  dispose(): void;
}

/** Builds the plain inputs of a run (ids, mask, positions, num_logits_to_keep, use_cache_branch). */
export interface PlainInputs {
  /** Feeds for these ids and positions with this mask ([batch, maskLength]). */
  build(
    ids: number[][],
    positions: number[][],
    mask: MaskFeed,
    keep: number,
    cacheFilled: boolean,
  ): Record<string, Tensor>;
}

/** The attention mask a layout feeds: rows of bits, or a ready tensor. */
export type MaskFeed = number[][] | Tensor;

/** One cache-layout strategy. */
export interface CacheLayout {
  /** Which strategy this is (ModelInfo and tests show it). */
  readonly kind: 'growing' | 'packed' | 'zero-copy' | 'recompute';
  /** Whether the model keeps a KV cache (otherwise each step recomputes the sequence). */
  readonly cached: boolean;
  /** A fresh cache for `batch` rows that may grow to `maxLength` positions (undefined: no cache). */
  newCache(batch: number, maxLength: number): LayoutCache | undefined;
  /** Runs the model on `input`; returns the logits output of the kept positions. */
  run(cache: LayoutCache | undefined, input: StepInput): Promise<Tensor>;
}
