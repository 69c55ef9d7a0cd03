/**
 * onnxruntime-genai's packed caches: one `past_N` input per layer holding keys and values as
 * [2, batch, heads, length, dim] (and `present_N` out), often with int32 ids and masks. The cache
 * operations treat the leading [2] as part of every row, so the growing strategy runs it unchanged;
 * this class names it. Whether such a graph accepts several new tokens on a non-empty cache is probed
 * by the runner (some genai attention-mask subgraphs do not).
 */
import { GrowingLayout } from './growing.js';

/** Packed genai `past_N` caches. */
export class PackedLayout extends GrowingLayout {
  override readonly kind = 'packed' as const;
}
