// Shared helpers for the processor tests: build float32 rows and apply one processor to a copy.
import type { LogitsProcessor, ProcessorContext } from '../../../generation/processors/types.js';

export const NEG = Number.NEGATIVE_INFINITY;

/** Applies `p` to a float32 copy of `logits` and returns plain numbers. */
export function run(
  p: LogitsProcessor,
  logits: number[],
  ctx: Partial<ProcessorContext> = {},
): number[] {
  const row = Float32Array.from(logits);
  p.apply(row, { ids: [], promptLength: 0, ...ctx });
  return Array.from(row);
}

/** Natural logs of probabilities, so softmax(row) gives back `probs` (up to float32 rounding). */
export function logs(probs: number[]): number[] {
  return probs.map(Math.log);
}

/** Which entries are still finite (kept) after filtering. */
export function kept(row: number[]): number[] {
  return row.flatMap((x, i) => (x === NEG ? [] : [i]));
}
