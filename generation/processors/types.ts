/**
 * The logits-processor contract shared by every processor and warper. A processor edits one row of
 * vocabulary logits in place, so the decode loop allocates nothing per step.
 */

/** What a processor may look at besides the logits row. */
export interface ProcessorContext {
  /** Prompt + generated ids of this row (for encoder-decoder models: the decoder ids, start token first). */
  ids: ArrayLike<number>;
  /** How many of `ids` are the prompt; the generated ids are `ids.slice(promptLength)`. */
  promptLength: number;
  /**
   * Total length (prompt + generated) at which generation stops, as transformers' `max_length`. Only
   * the forced-EOS processor reads it; when absent it uses promptLength + max_new_tokens.
   */
  maxLength?: number;
}

/** One named step over a row of logits (or log-probabilities in beam search), applied in place. */
export interface LogitsProcessor {
  /** Short name for logs and tests, e.g. `repetition_penalty`. */
  name: string;
  /** Rewrites `logits` in place. */
  apply(logits: Float32Array, ctx: ProcessorContext): void;
}

/** The value transformers writes for filtered tokens (`filter_value = -float("Inf")`). */
export const FILTERED = Number.NEGATIVE_INFINITY;

/** Counts how many times each id occurs in `ids[from:]`. */
export function countIds(ids: ArrayLike<number>, from: number): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = Math.max(0, from); i < ids.length; i++)
    counts.set(ids[i], (counts.get(ids[i]) ?? 0) + 1);
  return counts;
}
