/**
 * Weight quantization maths shared by every ONNX writer (the graph rewrite of `textgen quantize`, the
 * fused decoder, `convert --dtype q4|q8`): symmetric block quantization in onnxruntime's MatMulNBits
 * layout, and per-column symmetric int8 for DynamicQuantizeLinear → MatMulInteger. Pure functions over
 * typed arrays; no ONNX or onnxruntime types here.
 *
 * MatMulNBits layout (com.microsoft, onnxruntime ≥ 1.17): B is uint8 [N, ceil(K/bs), bs·bits/8], row n
 * holding the weights that produce output column n (so a MatMul's [K, N] weight is transposed, and a
 * tied `[vocab, hidden]` embedding is used as is); 4-bit codes are packed two per byte, the even index
 * in the low nibble. Without a zero-point input the zero point is 2^(bits-1), so a code q stands for
 * (q − 2^(bits-1)) · scale. Padding codes past K are the zero point (value 0).
 */

/** The packed weights and their per-block scales. */
export interface PackedBlocks {
  /** uint8 [N, ceil(K/bs), bs·bits/8]. */
  data: Uint8Array;
  /** float32 [N · ceil(K/bs)], row-major by output column then block. */
  scales: Float32Array;
}

/** Bits per weight MatMulNBits is emitted with here. */
export type BlockBits = 4 | 8;

/** Throws a RangeError unless (bits, blockSize) is a combination MatMulNBits accepts. */
export function checkBlockParams(bits: number, blockSize: number): void {
  if (bits !== 4 && bits !== 8) throw new RangeError(`bits must be 4 or 8, got ${bits}`);
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new RangeError(`block size must be a power of two ≥ 16, got ${blockSize}`);
}

/** Blocks per output column: ceil(K / blockSize). */
export function blocksPerColumn(k: number, blockSize: number): number {
  return Math.ceil(k / blockSize);
}

/**
 * Inverse-scale multipliers tried per block (coarse), then refined around the best one by these steps.
 * 4-bit: eight coarse points and two refinements (twelve one-pass evaluations) land within 0.1% of
 * the error of a 31-point grid; 8-bit error is flat in the scale, so the plain fit is kept.
 */
const COARSE_4 = [1.1, 1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7];
const REFINE_4 = [0.025, 0.0125];
const COARSE_8 = [1];

/**
 * Squared error of the block `x[from, to)` quantized with inverse scale `inv` and then given its
 * least-squares scale Σx·q / Σq·q: Σx² − (Σx·q)² / Σq·q (one pass, no codes stored).
 */
function blockError(
  x: Float32Array,
  from: number,
  to: number,
  inv: number,
  lo: number,
  hi: number,
  xx: number,
): number {
  let xq = 0;
  let qq = 0;
  // floor(y + 0.5) is Math.round(y), and twice as fast in V8; the offset keeps the floor positive.
  const offset = 0.5 - lo;
  const top = hi - lo;
  for (let i = from; i < to; i++) {
    const v = x[i];
    let c = Math.floor(v * inv + offset);
    c = (c < 0 ? 0 : c > top ? top : c) + lo;
    xq += v * c;
    qq += c * c;
  }
  return qq > 0 ? xx - (xq * xq) / qq : Infinity;
}

/**
 * Quantizes one block `x[from, to)` into signed codes `q` (in [-half, half-1]) and returns its scale.
 * Candidate scales map the largest-magnitude value onto about −half (the wider side of the signed
 * range, as onnxruntime's own quantizer does); each candidate's codes get the least-squares scale,
 * and the candidate with the smallest squared error is kept. On Gaussian-like weights this cuts the
 * 4-bit error of a plain absmax scale by about a sixth.
 */
function quantizeBlock(
  x: Float32Array,
  from: number,
  to: number,
  bits: BlockBits,
  q: Int8Array,
): number {
  const half = bits === 4 ? 8 : 128;
  const lo = -half;
  const hi = half - 1;
  let peak = 0;
  let absPeak = 0;
  let xx = 0;
  for (let i = from; i < to; i++) {
    const v = x[i];
    const a = v < 0 ? -v : v;
    if (a > absPeak) {
      absPeak = a;
      peak = v;
    }
    xx += v * v;
  }
  if (absPeak === 0 || !Number.isFinite(xx)) {
    q.fill(0, 0, to - from);
    return 0;
  }
  const base = -half / peak;
  const coarse = bits === 4 ? COARSE_4 : COARSE_8;
  let best = coarse[0];
  let bestErr = coarse.length > 1 ? blockError(x, from, to, base * best, lo, hi, xx) : 0;
  for (let j = 1; j < coarse.length; j++) {
    const e = blockError(x, from, to, base * coarse[j], lo, hi, xx);
    if (e < bestErr) {
      best = coarse[j];
      bestErr = e;
    }
  }
  if (bits === 4)
    for (let j = 0; j < REFINE_4.length; j++) {
      const center = best;
      for (let side = -1; side <= 1; side += 2) {
        const f = center + side * REFINE_4[j];
        const e = blockError(x, from, to, base * f, lo, hi, xx);
        if (e < bestErr) {
          best = f;
          bestErr = e;
        }
      }
    }
  const inv = base * best;
  let xq = 0;
  let qq = 0;
  for (let i = from; i < to; i++) {
    const v = x[i];
    let c = Math.floor(v * inv + 0.5 + half);
    c = (c < 0 ? 0 : c > hi + half ? hi + half : c) - half;
    q[i - from] = c;
    xq += v * c;
    qq += c * c;
  }
  return qq > 0 ? Math.fround(xq / qq) : 0;
}

/**
 * [N, K] row-major fp32 weight → MatMulNBits blobs (symmetric, zero point 2^(bits-1) implicit).
 * Row n is output column n. K need not be a multiple of the block size.
 */
export function packBlocks(
  weight: Float32Array,
  n: number,
  k: number,
  bits: BlockBits,
  blockSize: number,
): PackedBlocks {
  checkBlockParams(bits, blockSize);
  if (weight.length !== n * k)
    throw new RangeError(`weight has ${weight.length} values, expected ${n}×${k}`);
  const blocks = blocksPerColumn(k, blockSize);
  const blob = (blockSize * bits) / 8;
  const data = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const half = 1 << (bits - 1);
  const q = new Int8Array(blockSize);
  for (let row = 0; row < n; row++) {
    for (let b = 0; b < blocks; b++) {
      const from = row * k + b * blockSize;
      const len = Math.min(blockSize, k - b * blockSize);
      scales[row * blocks + b] = quantizeBlock(weight, from, from + len, bits, q);
      const out = (row * blocks + b) * blob;
      if (bits === 8) {
        for (let i = 0; i < blockSize; i++) data[out + i] = (i < len ? q[i] : 0) + half;
      } else {
        for (let i = 0; i < blockSize; i += 2) {
          const lo = (i < len ? q[i] : 0) + half;
          const hi = (i + 1 < len ? q[i + 1] : 0) + half;
          data[out + (i >> 1)] = lo | (hi << 4);
        }
      }
    }
  }
  return { data, scales };
}

/** The [N, K] fp32 weight that packed blocks stand for (what MatMulNBits multiplies by). */
export function unpackBlocks(
  packed: PackedBlocks,
  n: number,
  k: number,
  bits: BlockBits,
  blockSize: number,
): Float32Array {
  checkBlockParams(bits, blockSize);
  const blocks = blocksPerColumn(k, blockSize);
  const blob = (blockSize * bits) / 8;
  const half = 1 << (bits - 1);
  const out = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let j = 0; j < k; j++) {
      const b = Math.floor(j / blockSize);
      const i = j - b * blockSize;
      const at = (row * blocks + b) * blob;
      const code =
        bits === 8 ? packed.data[at + i] : (packed.data[at + (i >> 1)] >> ((i & 1) * 4)) & 0x0f;
      out[row * k + j] = (code - half) * packed.scales[row * blocks + b];
    }
  }
  return out;
}

/**
 * Attributes of the com.microsoft MatMulNBits node for these blobs (accuracy_level 4 always: int8
 * compute is what makes the kernel fast, and 8-bit weights without it dequantize the whole matrix on
 * every call).
 */
export function matMulNBitsAttributes(
  n: number,
  k: number,
  bits: BlockBits,
  blockSize: number,
): Record<string, number> {
  checkBlockParams(bits, blockSize);
  return { K: k, N: n, bits, block_size: blockSize, accuracy_level: 4 };
}

/**
 * Attributes of a com.microsoft GatherBlockQuantized node that looks rows up in the same uint8 blobs as
 * {@link packBlocks} (an embedding table [rows, K] with K a multiple of the block size, stored as
 * uint8 [rows, K·bits/8]; implicit zero point 2^(bits-1), as MatMulNBits).
 */
export function gatherBlockQuantizedAttributes(
  bits: BlockBits,
  blockSize: number,
): Record<string, number> {
  checkBlockParams(bits, blockSize);
  return { bits, block_size: blockSize, gather_axis: 0, quantize_axis: 1 };
}

/** Per-column symmetric int8 weights for MatMulInteger: value = data · scales[column]. */
export interface Int8Columns {
  /** int8 [K, N], the MatMul B layout. */
  data: Int8Array;
  /** float32 [N]. */
  scales: Float32Array;
}

/**
 * [K, N] row-major fp32 MatMul weight → per-output-column symmetric int8 (zero point 0, codes in
 * [-127, 127] so that negating a column never overflows), for DynamicQuantizeLinear → MatMulInteger →
 * ·(activation scale × column scale), which onnxruntime fuses into DynamicQuantizeMatMul.
 */
export function quantizeInt8Columns(weight: Float32Array, k: number, n: number): Int8Columns {
  if (weight.length !== n * k)
    throw new RangeError(`weight has ${weight.length} values, expected ${k}×${n}`);
  const absMax = new Float32Array(n);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const a = Math.abs(weight[row + c]);
      if (a > absMax[c]) absMax[c] = a;
    }
  }
  const scales = new Float32Array(n);
  const inv = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    scales[c] = Math.fround(absMax[c] / 127);
    inv[c] = scales[c] > 0 ? 1 / scales[c] : 0;
  }
  const data = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    const row = r * n;
    for (let c = 0; c < n; c++) {
      const v = Math.floor(weight[row + c] * inv[c] + 0.5);
      data[row + c] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { data, scales };
}

/**
 * [N, K] row-major fp32 weight (an embedding, or a head stored as [vocab, hidden]) → per-row
 * symmetric int8, the same maths as {@link quantizeInt8Columns} with one scale per row: a row lookup
 * dequantizes with its own scale, and MatMulInteger reads the matrix through a Transpose (folded by
 * onnxruntime at load), so a tied embedding and head share one copy.
 */
export function quantizeInt8Rows(weight: Float32Array, n: number, k: number): Int8Columns {
  if (weight.length !== n * k)
    throw new RangeError(`weight has ${weight.length} values, expected ${n}×${k}`);
  const data = new Int8Array(n * k);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const row = r * k;
    let absMax = 0;
    for (let c = 0; c < k; c++) {
      const a = Math.abs(weight[row + c]);
      if (a > absMax) absMax = a;
    }
    scales[r] = Math.fround(absMax / 127);
    const inv = scales[r] > 0 ? 1 / scales[r] : 0;
    for (let c = 0; c < k; c++) {
      const v = Math.floor(weight[row + c] * inv + 0.5);
      data[row + c] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { data, scales };
}

/** Transposes a row-major [rows, cols] matrix into a new [cols, rows] one. */
export function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  // Tiles keep both sides in cache for the large embedding matrices.
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile)
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const r1 = Math.min(rows, r0 + tile);
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++)
        for (let c = c0; c < c1; c++) out[c * rows + r] = m[r * cols + c];
    }
  return out;
}

/**
 * Relative RMS error ‖W − dequant(W)‖ / ‖W‖ of packed blocks against the [N, K] weight they came
 * from, computed without materialising the dequantized matrix (0 for an all-zero weight).
 */
export function packedError(
  weight: Float32Array,
  packed: PackedBlocks,
  n: number,
  k: number,
  bits: BlockBits,
  blockSize: number,
): number {
  const blocks = blocksPerColumn(k, blockSize);
  const blob = (blockSize * bits) / 8;
  const half = 1 << (bits - 1);
  let err = 0;
  let ref = 0;
  for (let row = 0; row < n; row++)
    for (let b = 0; b < blocks; b++) {
      const scale = packed.scales[row * blocks + b];
      const at = (row * blocks + b) * blob;
      const len = Math.min(blockSize, k - b * blockSize);
      for (let i = 0; i < len; i++) {
        const code =
          bits === 8 ? packed.data[at + i] : (packed.data[at + (i >> 1)] >> ((i & 1) * 4)) & 0x0f;
        const w = weight[row * k + b * blockSize + i];
        const d = w - (code - half) * scale;
        err += d * d;
        ref += w * w;
      }
    }
  return ref > 0 ? Math.sqrt(err / ref) : 0;
}

/**
 * Relative RMS error of int8 weights against the [rows, cols] weight they came from, with one scale
 * per column ({@link quantizeInt8Columns}) or per row ({@link quantizeInt8Rows}).
 */
export function int8Error(
  weight: Float32Array,
  q: Int8Columns,
  rows: number,
  cols: number,
  scalesPer: 'column' | 'row',
): number {
  let err = 0;
  let ref = 0;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const w = weight[r * cols + c];
      const d = w - q.data[r * cols + c] * q.scales[scalesPer === 'row' ? r : c];
      err += d * d;
      ref += w * w;
    }
  return ref > 0 ? Math.sqrt(err / ref) : 0;
}
