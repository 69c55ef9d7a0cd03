/**
 * Probes whether a graph accepts several new tokens on top of a non-empty cache and gets them right.
 * Some exports (onnxruntime-genai attention-mask subgraphs) reject such a run, or could compute it
 * wrongly; the runner then feeds extensions one token at a time. The probe runs on a scratch state of
 * one row: [a] then [b, c] in one run, against [a], [b], [c] one by one.
 */

/** What the probe needs from the runner. */
export interface ProbeTarget<S extends { dispose(): void }> {
  newState(batch: number, maxLength: number): S;
  /** One model run of `tokens` on `state`; returns the last position's logits. */
  runOnce(state: S, tokens: number[][]): Promise<Float32Array>;
}

/** Largest logit difference allowed, relative to the logits' range (fp16 graphs differ slightly). */
const TOLERANCE = 1e-2;

/** true when a multi-token run on a non-empty cache works and agrees with token-by-token runs. */
export async function probeExtension<S extends { dispose(): void }>(
  target: ProbeTarget<S>,
): Promise<boolean> {
  const together = target.newState(1, 8);
  const apart = target.newState(1, 8);
  try {
    await target.runOnce(together, [[0]]);
    let joint: Float32Array;
    try {
      joint = (await target.runOnce(together, [[1, 2]])).slice();
    } catch {
      return false;
    }
    await target.runOnce(apart, [[0]]);
    await target.runOnce(apart, [[1]]);
    const single = await target.runOnce(apart, [[2]]);
    let range = 0;
    let diff = 0;
    for (let i = 0; i < single.length; i++) {
      range = Math.max(range, Math.abs(single[i]));
      diff = Math.max(diff, Math.abs(single[i] - joint[i]));
    }
    return Number.isFinite(diff) && diff <= TOLERANCE * Math.max(range, 1e-6);
  } finally {
    together.dispose();
    apart.dispose();
  }
}
