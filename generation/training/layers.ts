/**
 * The cheap, row-local layers of the Llama block (RMSNorm, rotary embedding, SwiGLU) with their
 * backward passes. They run on the main thread: their cost is a few percent of the matrix products.
 */

/** y = x / rms(x) · w per row of x [M,D]; stores 1/rms per row in `inv` for the backward pass. */
export function rmsnormForward(
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  inv: Float32Array,
  M: number,
  D: number,
  eps: number,
): void {
  for (let i = 0; i < M; i++) {
    const o = i * D;
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[o + d] * x[o + d];
    const r = 1 / Math.sqrt(ss / D + eps);
    inv[i] = r;
    for (let d = 0; d < D; d++) y[o + d] = x[o + d] * r * w[d];
  }
}

/** Backward of {@link rmsnormForward}: dx (+)= ∂L/∂x, dw += ∂L/∂w. */
export function rmsnormBackward(
  x: Float32Array,
  w: Float32Array,
  inv: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  dw: Float32Array,
  M: number,
  D: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    const o = i * D;
    const r = inv[i];
    let dot = 0;
    for (let d = 0; d < D; d++) {
      dot += dy[o + d] * w[d] * x[o + d];
      dw[d] += dy[o + d] * x[o + d] * r;
    }
    const c = (r * r * r * dot) / D;
    for (let d = 0; d < D; d++) {
      const g = r * dy[o + d] * w[d] - x[o + d] * c;
      dx[o + d] = accumulate ? dx[o + d] + g : g;
    }
  }
}

/** cos/sin tables [positions, headDim/2] of the HF Llama rotary embedding, computed in float64. */
export function ropeTables(
  positions: number,
  headDim: number,
  theta: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      // The same float64 expression as the ONNX emitter's tables, so training and export agree bit for bit.
      const angle = p / theta ** ((2 * i) / headDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Rotate-half RoPE in place on x [M, heads·hd], row m at position m mod T. With `inverse` it applies the
 * transposed rotation, which is the backward pass.
 */
export function rope(
  x: Float32Array,
  M: number,
  T: number,
  heads: number,
  hd: number,
  cos: Float32Array,
  sin: Float32Array,
  inverse: boolean,
): void {
  const half = hd / 2;
  const sign = inverse ? -1 : 1;
  for (let m = 0; m < M; m++) {
    const t = m % T;
    for (let h = 0; h < heads; h++) {
      const o = (m * heads + h) * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i],
          s = sign * sin[t * half + i];
        const a = x[o + i],
          b = x[o + i + half];
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
}

/** act = silu(g) · u elementwise. */
export function swigluForward(
  g: Float32Array,
  u: Float32Array,
  act: Float32Array,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const x = g[i];
    act[i] = (x / (1 + Math.exp(-x))) * u[i];
  }
}

/** Backward of {@link swigluForward}: writes dg and du from dact. */
export function swigluBackward(
  g: Float32Array,
  u: Float32Array,
  dact: Float32Array,
  dg: Float32Array,
  du: Float32Array,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const x = g[i];
    const sig = 1 / (1 + Math.exp(-x));
    du[i] = dact[i] * x * sig;
    dg[i] = dact[i] * u[i] * sig * (1 + x * (1 - sig));
  }
}
