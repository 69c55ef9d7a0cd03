/**
 * Emitters for the two decoder families, written with standard ONNX ops (opset 17) in the form
 * torch/optimum exports have, so ONNX Runtime's load-time fusions (RMSNorm → SimplifiedLayerNorm,
 * GELU, MatMul+Add) apply as they do to downloaded models, and transformers.js runs the file:
 * - Llama family: RMSNorm, rotate-half RoPE computed from position_ids (scaled frequencies, as
 *   Hugging Face computes them in float32), grouped-query attention, SwiGLU MLP, and the
 *   {@link LlamaFeatures} of later families (q/k/v/o and MLP biases, q/k RMSNorm).
 * - GPT-2: learned absolute positions, LayerNorm with bias, fused QKV Conv1D, gelu_new MLP.
 * Weights come from a {@link WeightSource} by Hugging Face name (linear weights as [in, out]) and are
 * stored in the requested {@link WeightDtype}.
 */
import { DataType, GraphBuilder } from './graph.js';
import {
  attention,
  attentionBias,
  declareInputs,
  splitHeads,
  type DecoderOptions,
  type DecoderShape,
  type WeightSource,
} from './decoder-common.js';
import { ropeInverseFrequencies, type LlamaFeatures } from './decoder-spec.js';
import { WeightEmitter, type WeightDtype } from './weight-emit.js';

/** Llama-family shape: adds the MLP width, norm epsilon, RoPE base and tied embeddings. */
export interface LlamaShape extends DecoderShape, LlamaFeatures {
  intermediate: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieEmbeddings: boolean;
}

/** GPT-2 shape: adds the MLP width and LayerNorm epsilon (the head is tied to wte, as in GPT-2). */
export interface Gpt2Shape extends DecoderShape {
  inner: number;
  layerNormEps: number;
}

/** Options of the optimum-style emitters: the graph layout and the weights' storage dtype. */
export interface EmitterOptions extends DecoderOptions {
  /** Default fp32. */
  dtype?: WeightDtype;
}

/** The ONNX opset the emitters target. */
export const OPSET = 17;

function rmsNorm(g: GraphBuilder, x: string, w: string, eps: number): string {
  // Pow → ReduceMean → Add → Sqrt → Div → Mul: the pattern ORT fuses into SimplifiedLayerNormalization.
  const ms = g.op('ReduceMean', [g.op('Pow', [x, g.floats([2])])], { axes: [-1], keepdims: 1 });
  return g.op('Mul', [w, g.op('Div', [x, g.op('Sqrt', [g.op('Add', [ms, g.floats([eps])])])])]);
}

/**
 * cos and sin [batch, 1, seq, headDim] of the rotate-half layout: position × inverse frequency in
 * float32 (one rounding, as Hugging Face's rotary embedding computes it), each frequency twice.
 */
function rotaryAngles(
  g: GraphBuilder,
  s: LlamaShape,
  positions: string,
): { cos: string; sin: string } {
  const half = s.headDim / 2;
  const inv = ropeInverseFrequencies(s.headDim, s.ropeTheta, s.ropeScaling);
  const freqs = Float32Array.from({ length: s.headDim }, (_, j) => inv[j % half]);
  const position = g.op('Unsqueeze', [
    g.op('Cast', [positions], { to: DataType.float32 }),
    g.ints([2]),
  ]);
  const angles = g.op('Mul', [
    position,
    g.weight('rope.inv_freq', { dims: [s.headDim], data: freqs }),
  ]);
  const axis1 = g.ints([1]);
  return {
    cos: g.op('Unsqueeze', [g.op('Cos', [angles]), axis1]),
    sin: g.op('Unsqueeze', [g.op('Sin', [angles]), axis1]),
  };
}

function rotary(g: GraphBuilder, x: string, cos: string, sin: string, headDim: number): string {
  const [x1, x2] = g.opN('Split', [x, g.ints([headDim / 2, headDim / 2])], 2, { axis: -1 });
  const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
}

/** One Llama-family attention block on the normed input `h`; returns its o_proj output. */
function llamaAttention(
  g: GraphBuilder,
  W: WeightEmitter,
  s: LlamaShape,
  layer: number,
  h: string,
  ctx: { io: ReturnType<typeof declareInputs>; bias: string; cos: string; sin: string },
): string {
  const p = `model.layers.${layer}.self_attn`;
  const heads = (name: 'q' | 'k' | 'v', count: number) => {
    const proj = `${p}.${name}_proj`;
    const y = W.linear(
      h,
      `${proj}.weight`,
      s.hidden,
      count * s.headDim,
      s.qkvBias ? `${proj}.bias` : undefined,
    );
    let x = splitHeads(g, y, count, s.headDim);
    if (s.qkNorm && name !== 'v')
      x = rmsNorm(g, x, W.vector(`${p}.${name}_norm.weight`, [s.headDim], 'ones'), s.rmsNormEps);
    return name === 'v' ? x : rotary(g, x, ctx.cos, ctx.sin, s.headDim);
  };
  const q = heads('q', s.heads);
  const k = heads('k', s.kvHeads);
  const v = heads('v', s.kvHeads);
  return W.linear(
    attention(g, s, ctx.io, layer, q, k, v, ctx.bias),
    `${p}.o_proj.weight`,
    s.heads * s.headDim,
    s.hidden,
    s.oBias ? `${p}.o_proj.bias` : undefined,
  );
}

/** Builds a Llama-family decoder graph (past_key_values inputs unless `options.pastInputs` is false). */
export function buildLlama(
  s: LlamaShape,
  weights: WeightSource,
  options: EmitterOptions = {},
): GraphBuilder {
  const g = new GraphBuilder('llama');
  const W = new WeightEmitter(g, weights, options.dtype);
  const io = declareInputs(g, s, options);
  const embed = W.embedding('model.embed_tokens.weight', s.vocab, s.hidden);
  let x = embed.lookup(io.ids);
  const ctx = { io, bias: attentionBias(g, io), ...rotaryAngles(g, s, io.positions) };
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    const norm = (name: string, y: string) =>
      rmsNorm(g, y, W.vector(`${p}.${name}.weight`, [s.hidden], 'ones'), s.rmsNormEps);
    x = g.op('Add', [x, llamaAttention(g, W, s, l, norm('input_layernorm', x), ctx)]);
    const h = norm('post_attention_layernorm', x);
    const mlp = (name: string, inDim: number, outDim: number, y: string) =>
      W.linear(
        y,
        `${p}.mlp.${name}.weight`,
        inDim,
        outDim,
        s.mlpBias ? `${p}.mlp.${name}.bias` : undefined,
      );
    const gate = mlp('gate_proj', s.hidden, s.intermediate, h);
    const up = mlp('up_proj', s.hidden, s.intermediate, h);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, mlp('down_proj', s.intermediate, s.hidden, act)]);
  }
  const final = rmsNorm(g, x, W.vector('model.norm.weight', [s.hidden], 'ones'), s.rmsNormEps);
  const logits = s.tieEmbeddings
    ? embed.head(final)
    : W.linear(final, 'lm_head.weight', s.hidden, s.vocab);
  logitsOutput(g, s, logits);
  return g;
}

/** Names `logits` [batch, seq, vocab] as the graph's logits output. */
function logitsOutput(g: GraphBuilder, s: DecoderShape, logits: string): void {
  g.output(
    { name: 'logits', type: 'float32', shape: ['batch_size', 'sequence_length', s.vocab] },
    logits,
  );
}

function layerNorm(g: GraphBuilder, x: string, w: string, b: string, eps: number): string {
  return g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: { float: eps } });
}

function geluNew(g: GraphBuilder, x: string): string {
  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the tanh approximation GPT-2 uses.
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [
    g.op('Add', [x, g.op('Mul', [cube, g.floats([0.044715])])]),
    g.floats([Math.sqrt(2 / Math.PI)]),
  ]);
  return g.op('Mul', [
    g.op('Mul', [x, g.floats([0.5])]),
    g.op('Add', [g.op('Tanh', [inner]), g.floats([1])]),
  ]);
}

/** Builds a GPT-2 decoder graph (kvHeads = heads; past inputs unless `options.pastInputs` is false). */
export function buildGpt2(
  s: Gpt2Shape,
  weights: WeightSource,
  options: EmitterOptions = {},
): GraphBuilder {
  const g = new GraphBuilder('gpt2');
  const W = new WeightEmitter(g, weights, options.dtype);
  const io = declareInputs(g, s, options);
  const wte = W.embedding('transformer.wte.weight', s.vocab, s.hidden);
  const wpe = W.table('transformer.wpe.weight', s.maxPositions, s.hidden);
  let x = g.op('Add', [wte.lookup(io.ids), wpe(io.positions)]);
  const bias = attentionBias(g, io);
  const width = s.heads * s.headDim;
  for (let l = 0; l < s.layers; l++) {
    const p = `transformer.h.${l}`;
    const norm = (name: string, y: string) =>
      layerNorm(
        g,
        y,
        W.vector(`${p}.${name}.weight`, [s.hidden], 'ones'),
        W.vector(`${p}.${name}.bias`, [s.hidden], 'zeros'),
        s.layerNormEps,
      );
    const conv1d = (name: string, y: string, inDim: number, outDim: number) =>
      W.linear(y, `${p}.${name}.weight`, inDim, outDim, `${p}.${name}.bias`);
    const qkv = conv1d('attn.c_attn', norm('ln_1', x), s.hidden, 3 * width);
    const [q, k, v] = g
      .opN('Split', [qkv, g.ints([width, width, width])], 3, { axis: -1 })
      .map((t) => splitHeads(g, t, s.heads, s.headDim));
    const attn = attention(g, s, io, l, q, k, v, bias);
    x = g.op('Add', [x, conv1d('attn.c_proj', attn, width, s.hidden)]);
    const fc = geluNew(g, conv1d('mlp.c_fc', norm('ln_2', x), s.hidden, s.inner));
    x = g.op('Add', [x, conv1d('mlp.c_proj', fc, s.inner, s.hidden)]);
  }
  const final = layerNorm(
    g,
    x,
    W.vector('transformer.ln_f.weight', [s.hidden], 'ones'),
    W.vector('transformer.ln_f.bias', [s.hidden], 'zeros'),
    s.layerNormEps,
  );
  logitsOutput(g, s, wte.head(final));
  return g;
}
