/**
 * IEEE half-precision conversion for models with fp16 inputs and outputs (ORT's node binding hands
 * float16 tensors over as raw Uint16Array bits).
 */

let table: Float32Array | undefined;

/** Lazily built lookup table from every half bit pattern to its float32 value. */
function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return table;
}

/** Converts half bits to float32 into `out` (allocated when absent). */
export function halfToFloat(
  bits: Uint16Array,
  out: Float32Array<ArrayBufferLike> = new Float32Array(bits.length),
  offset = 0,
  count = bits.length,
): Float32Array<ArrayBufferLike> {
  const t = halfTable();
  for (let i = 0; i < count; i++) out[i] = t[bits[offset + i]];
  return out;
}
