/**
 * Extracts the last position's logits of every row from a [batch, steps, vocab] output (float32 or
 * float16), the only logits the decode loop uses.
 */
import { halfToFloat } from '../../common/float16.js';
import type { Tensor } from './ort.js';

/** The last position's logits per row as [batch × vocab] float32, written into `out` when it fits. */
export function lastPositionLogits(
  logits: Tensor,
  batch: number,
  out?: Float32Array,
): Float32Array {
  const dims = logits.dims;
  const vocab = dims[dims.length - 1];
  const steps = dims.length === 3 ? dims[1] : 1;
  const target = out && out.length === batch * vocab ? out : new Float32Array(batch * vocab);
  const data = logits.data as Float32Array | Uint16Array;
  for (let b = 0; b < batch; b++) {
    const from = (b * steps + steps - 1) * vocab;
    if (data instanceof Uint16Array)
      halfToFloat(data, target.subarray(b * vocab, (b + 1) * vocab), from, vocab);
    else target.set(data.subarray(from, from + vocab), b * vocab);
  }
  return target;
}
