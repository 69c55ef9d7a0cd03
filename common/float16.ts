/**
 * IEEE half-precision and bfloat16 conversion, the one owner of both directions: the writer stores
 * fp16 initialisers, the safetensors reader widens f16/bf16 checkpoints, and the runtime decodes the
 * raw Uint16Array bits ORT's node binding hands over for float16 outputs. A leaf, so every layer
 * (onnx-writer, convert, runtime) may import it.
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

/** Converts half bits to float32 into `out` (allocated when absent); exact for every half value. */
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

/** IEEE half bits → a new float32 array (exact: every half value is a float32 value). */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  halfToFloat(bits, out);
  return out;
}

/** bfloat16 bits → float32: the bits are the float's upper half, so the widening is exact. */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** Converts a float32 value to IEEE half bits, rounding to nearest even (overflow → ±Inf). */
export function floatToHalfBits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      // Subnormal half (or zero): shift the full mantissa into place, rounding to nearest even.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      const m = mant | 0x800000;
      const shift = 14 - e;
      const half = m >>> shift;
      const rest = m & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      out[i] = sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
    } else {
      const half = (e << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      // A carry out of the mantissa correctly bumps the exponent (up to Inf).
      out[i] = sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
    }
  }
  return out;
}
