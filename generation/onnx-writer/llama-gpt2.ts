/**
 * Emitters for the two decoder families, written with standard ONNX ops (opset 17) in the form
 * torch/optimum exports have, so ONNX Runtime's load-time fusions (RMSNorm → SimplifiedLayerNorm,
 * GELU, MatMul+Add) apply as they do to downloaded models:
 * - Llama: RMSNorm, rotate-half RoPE from position_ids, grouped-query attention, SwiGLU MLP.
 * - GPT-2: learned absolute positions, LayerNorm with bias, fused QKV Conv1D, gelu_new MLP.
 * Weights come from a {@link WeightSource} by Hugging Face name (linear weights as [in, out]).
 */
import { GraphBuilder } from './graph.js';
import {
  attention,
  attentionBias,
  declareInputs,
  linear,
  logitsOutput,
  splitHeads,
  type DecoderOptions,
  type DecoderShape,
  type WeightSource,
} from './decoder-common.js';
import { ropeInverseFrequencies, type LlamaFeatures } from './decoder-spec.js';

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

/** The ONNX opset the emitters target. */
export const OPSET = 17;

function rmsNorm(g: GraphBuilder, x: string, w: string, eps: number): string {
  // Pow → ReduceMean → Add → Sqrt → Div → Mul: the pattern ORT fuses into SimplifiedLayerNormalization.
  const ms = g.op('ReduceMean', [g.op('Pow', [x, g.floats([2])])], { axes: [-1], keepdims: 1 });
  return g.op('Mul', [w, g.op('Div', [x, g.op('Sqrt', [g.op('Add', [ms, g.floats([eps])])])])]);
}

/** cos and sin tables [maxPositions, headDim] in the rotate-half layout (frequencies repeated twice). */
function ropeTables(s: LlamaShape): { cos: Float32Array; sin: Float32Array } {
  const half = s.headDim / 2;
  const inv = ropeInverseFrequencies(s.headDim, s.ropeTheta, s.ropeScaling);
  const cos = new Float32Array(s.maxPositions * s.headDim);
  const sin = new Float32Array(s.maxPositions * s.headDim);
  for (let p = 0; p < s.maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * inv[i];
      for (const j of [i, i + half]) {
        cos[p * s.headDim + j] = Math.cos(angle);
        sin[p * s.headDim + j] = Math.sin(angle);
      }
    }
  }
  return { cos, sin };
}

function rotary(g: GraphBuilder, x: string, cos: string, sin: string, headDim: number): string {
  const [x1, x2] = g.opN('Split', [x, g.ints([headDim / 2, headDim / 2])], 2, { axis: -1 });
  const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
}

/** Builds a Llama decoder graph (with past_key_values inputs unless `options.pastInputs` is false). */
export function buildLlama(
  s: LlamaShape,
  weights: WeightSource,
  options: DecoderOptions = {},
): GraphBuilder {
  const g = new GraphBuilder('llama');
  const io = declareInputs(g, s, options);
  const w = (name: string, dims: number[], init: 'normal' | 'ones' = 'normal') =>
    g.weight(name, { dims, data: weights(name, dims, init) });
  const embed = w('model.embed_tokens.weight', [s.vocab, s.hidden]);
  let x = g.op('Gather', [embed, io.ids], { axis: 0 });
  const bias = attentionBias(g, io);
  const tables = ropeTables(s);
  const axis1 = g.ints([1]);
  const cos = g.op('Unsqueeze', [
    g.op('Gather', [
      g.weight('rope.cos', { dims: [s.maxPositions, s.headDim], data: tables.cos }),
      io.positions,
    ]),
    axis1,
  ]);
  const sin = g.op('Unsqueeze', [
    g.op('Gather', [
      g.weight('rope.sin', { dims: [s.maxPositions, s.headDim], data: tables.sin }),
      io.positions,
    ]),
    axis1,
  ]);
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    const h = rmsNorm(g, x, w(`${p}.input_layernorm.weight`, [s.hidden], 'ones'), s.rmsNormEps);
    const q = rotary(
      g,
      splitHeads(
        g,
        linear(g, h, w(`${p}.self_attn.q_proj.weight`, [s.hidden, s.heads * s.headDim])),
        s.heads,
        s.headDim,
      ),
      cos,
      sin,
      s.headDim,
    );
    const k = rotary(
      g,
      splitHeads(
        g,
        linear(g, h, w(`${p}.self_attn.k_proj.weight`, [s.hidden, s.kvHeads * s.headDim])),
        s.kvHeads,
        s.headDim,
      ),
      cos,
      sin,
      s.headDim,
    );
    const v = splitHeads(
      g,
      linear(g, h, w(`${p}.self_attn.v_proj.weight`, [s.hidden, s.kvHeads * s.headDim])),
      s.kvHeads,
      s.headDim,
    );
    const attn = linear(
      g,
      attention(g, s, io, l, q, k, v, bias),
      w(`${p}.self_attn.o_proj.weight`, [s.heads * s.headDim, s.hidden]),
    );
    x = g.op('Add', [x, attn]);
    const h2 = rmsNorm(
      g,
      x,
      w(`${p}.post_attention_layernorm.weight`, [s.hidden], 'ones'),
      s.rmsNormEps,
    );
    const gate = linear(g, h2, w(`${p}.mlp.gate_proj.weight`, [s.hidden, s.intermediate]));
    const up = linear(g, h2, w(`${p}.mlp.up_proj.weight`, [s.hidden, s.intermediate]));
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [
      x,
      linear(g, act, w(`${p}.mlp.down_proj.weight`, [s.intermediate, s.hidden])),
    ]);
  }
  const final = rmsNorm(g, x, w('model.norm.weight', [s.hidden], 'ones'), s.rmsNormEps);
  // A tied head reads the embedding through a Transpose (ORT folds it once at load).
  const head = s.tieEmbeddings
    ? g.op('Transpose', [embed], { perm: [1, 0] })
    : w('lm_head.weight', [s.hidden, s.vocab]);
  logitsOutput(g, s, final, head);
  return g;
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
  options: DecoderOptions = {},
): GraphBuilder {
  const g = new GraphBuilder('gpt2');
  const io = declareInputs(g, s, options);
  const w = (name: string, dims: number[], init: 'normal' | 'ones' | 'zeros' = 'normal') =>
    g.weight(name, { dims, data: weights(name, dims, init) });
  const wte = w('transformer.wte.weight', [s.vocab, s.hidden]);
  const wpe = w('transformer.wpe.weight', [s.maxPositions, s.hidden]);
  let x = g.op('Add', [
    g.op('Gather', [wte, io.ids], { axis: 0 }),
    g.op('Gather', [wpe, io.positions], { axis: 0 }),
  ]);
  const bias = attentionBias(g, io);
  const width = s.heads * s.headDim;
  for (let l = 0; l < s.layers; l++) {
    const p = `transformer.h.${l}`;
    const h = layerNorm(
      g,
      x,
      w(`${p}.ln_1.weight`, [s.hidden], 'ones'),
      w(`${p}.ln_1.bias`, [s.hidden], 'zeros'),
      s.layerNormEps,
    );
    const qkv = linear(
      g,
      h,
      w(`${p}.attn.c_attn.weight`, [s.hidden, 3 * width]),
      w(`${p}.attn.c_attn.bias`, [3 * width], 'zeros'),
    );
    const [q, k, v] = g
      .opN('Split', [qkv, g.ints([width, width, width])], 3, { axis: -1 })
      .map((t) => splitHeads(g, t, s.heads, s.headDim));
    const attn = attention(g, s, io, l, q, k, v, bias);
    x = g.op('Add', [
      x,
      linear(
        g,
        attn,
        w(`${p}.attn.c_proj.weight`, [width, s.hidden]),
        w(`${p}.attn.c_proj.bias`, [s.hidden], 'zeros'),
      ),
    ]);
    const h2 = layerNorm(
      g,
      x,
      w(`${p}.ln_2.weight`, [s.hidden], 'ones'),
      w(`${p}.ln_2.bias`, [s.hidden], 'zeros'),
      s.layerNormEps,
    );
    const fc = geluNew(
      g,
      linear(
        g,
        h2,
        w(`${p}.mlp.c_fc.weight`, [s.hidden, s.inner]),
        w(`${p}.mlp.c_fc.bias`, [s.inner], 'zeros'),
      ),
    );
    x = g.op('Add', [
      x,
      linear(
        g,
        fc,
        w(`${p}.mlp.c_proj.weight`, [s.inner, s.hidden]),
        w(`${p}.mlp.c_proj.bias`, [s.hidden], 'zeros'),
      ),
    ]);
  }
  const final = layerNorm(
    g,
    x,
    w('transformer.ln_f.weight', [s.hidden], 'ones'),
    w('transformer.ln_f.bias', [s.hidden], 'zeros'),
    s.layerNormEps,
  );
  logitsOutput(g, s, final, g.op('Transpose', [wte], { perm: [1, 0] }));
  return g;
}
