/**
 * Hugging Face config.json → the emitters' decoder description ({@link LlamaShape} with its
 * {@link LlamaFeatures}, or {@link Gpt2Shape}). Every family maps onto one of the two: Llama 2/3,
 * SmolLM, TinyLlama and Mistral are plain Llama; Qwen2 adds q/k/v biases; Qwen3 adds q/k RMSNorm;
 * Phi-3 is Llama with fused projections (split by the weight map). Fields whose defaults differ per
 * family take that family's transformers default. A setting that changes the maths and is not
 * implemented (sliding windows shorter than the context, rope types other than linear/llama3, partial
 * rotary, quantization, other activations) is refused with every such field named.
 */
import { ModelError, UsageError } from '../errors.js';
import type { RopeScaling } from '../onnx-writer/decoder-spec.js';
import type { Gpt2Shape, LlamaShape } from '../onnx-writer/llama-gpt2.js';

/** The model families `textgen convert` reads, by config.json `model_type`. */
export const FAMILIES = ['llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'gpt2'] as const;

/** One of {@link FAMILIES}. */
export type Family = (typeof FAMILIES)[number];

/** The decoder a converter emits: a Llama-family or a GPT-2 shape. */
export type DecoderSpec = ({ arch: 'llama' } & LlamaShape) | ({ arch: 'gpt2' } & Gpt2Shape);

/** What a config describes. */
export interface ModelPlan {
  family: Family;
  spec: DecoderSpec;
}

/** Per-family transformers defaults for fields a config may leave out. */
const DEFAULTS: Record<
  Exclude<Family, 'gpt2'>,
  { eps: number; tie: boolean; maxPositions: number }
> = {
  llama: { eps: 1e-6, tie: false, maxPositions: 2048 },
  mistral: { eps: 1e-6, tie: false, maxPositions: 4096 * 32 },
  qwen2: { eps: 1e-6, tie: false, maxPositions: 32768 },
  qwen3: { eps: 1e-6, tie: false, maxPositions: 32768 },
  phi3: { eps: 1e-5, tie: false, maxPositions: 4096 },
};

type Config = Record<string, any>;

function int(config: Config, key: string, fallback?: number): number {
  const v = config[key] ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new ModelError(
      `config.json: ${key} must be a positive integer, got ${JSON.stringify(config[key])}.`,
    );
  return v;
}

function num(config: Config, key: string, fallback: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new ModelError(
      `config.json: ${key} must be a positive number, got ${JSON.stringify(config[key])}.`,
    );
  return v;
}

function bool(config: Config, key: string, fallback: boolean): boolean {
  const v = config[key] ?? fallback;
  if (typeof v !== 'boolean')
    throw new ModelError(`config.json: ${key} must be true or false, got ${JSON.stringify(v)}.`);
  return v;
}

/** The context to convert for: --context, at most the model's positions, else the model's. */
function contextFor(maxPositions: number, requested: number | undefined, field: string): number {
  if (requested === undefined) return maxPositions;
  if (requested > maxPositions)
    throw new UsageError(
      `--context ${requested} is more than the model's ${field} (${maxPositions}).`,
      `Pass --context ${maxPositions} or less.`,
    );
  return requested;
}

/** Rope scaling from `rope_scaling` (or transformers 5's `rope_parameters`); pushes problems. */
function ropeScaling(config: Config, problems: string[]): RopeScaling | undefined {
  const field = config.rope_parameters ? 'rope_parameters' : 'rope_scaling';
  const r = config[field] as Record<string, any> | null | undefined;
  if (!r) return undefined;
  const type = r.rope_type ?? r.type ?? 'default';
  const factor = (key: string) => {
    const v = r[key];
    if (typeof v !== 'number' || !(v > 0))
      throw new ModelError(`config.json: ${field}.${key} must be a positive number.`);
    return v;
  };
  if (type === 'default') return undefined;
  if (type === 'linear') return { type: 'linear', factor: factor('factor') };
  if (type === 'llama3')
    return {
      type: 'llama3',
      factor: factor('factor'),
      lowFreqFactor: factor('low_freq_factor'),
      highFreqFactor: factor('high_freq_factor'),
      originalMaxPositions: factor('original_max_position_embeddings'),
    };
  problems.push(`${field} type '${String(type)}' (supported: linear, llama3)`);
  return undefined;
}

/** Sliding-window attention is only accepted when the window covers the whole context. */
function slidingWindow(config: Config, family: Family, context: number, problems: string[]): void {
  const window = config.sliding_window;
  if (typeof window !== 'number') return;
  // Llama has no sliding window; Qwen applies one only with use_sliding_window; Mistral, Phi-3 always.
  const used =
    family === 'qwen2' || family === 'qwen3'
      ? config.use_sliding_window === true
      : family === 'mistral' || family === 'phi3';
  if (used && window < context)
    problems.push(
      `sliding_window ${window} is shorter than the context ${context} (convert with --context ${window} or less)`,
    );
}

function refuse(family: string, problems: string[]): void {
  if (problems.length)
    throw new ModelError(
      `config.json (${family}) uses what textgen convert does not implement: ${problems.join('; ')}.`,
      'Nothing was written.',
    );
}

function commonProblems(config: Config, problems: string[]): void {
  if (config.quantization_config) problems.push('quantization_config (a pre-quantized checkpoint)');
  for (const key of ['num_experts', 'num_local_experts', 'n_routed_experts'])
    if (typeof config[key] === 'number' && config[key] > 0)
      problems.push(`${key} (mixture of experts)`);
  if (config.is_encoder_decoder) problems.push('is_encoder_decoder');
}

function llamaPlan(config: Config, family: Exclude<Family, 'gpt2'>, context?: number): ModelPlan {
  const d = DEFAULTS[family];
  const problems: string[] = [];
  commonProblems(config, problems);
  const hidden = int(config, 'hidden_size');
  const heads = int(config, 'num_attention_heads');
  const kvHeads = int(config, 'num_key_value_heads', heads);
  const headDim = int(config, 'head_dim', config.head_dim == null ? hidden / heads : undefined);
  if (heads % kvHeads !== 0)
    throw new ModelError(
      `config.json: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}.`,
    );
  if (headDim % 2 !== 0)
    throw new ModelError(
      `config.json: head_dim ${headDim} is odd; rotary embeddings need it even.`,
    );
  const act = config.hidden_act ?? config.hidden_activation ?? 'silu';
  if (act !== 'silu') problems.push(`hidden_act '${String(act)}' (supported: silu)`);
  const partial = config.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1)
    problems.push(`partial_rotary_factor ${String(partial)}`);
  const maxPositions = int(config, 'max_position_embeddings', d.maxPositions);
  const ctx = contextFor(maxPositions, context, 'max_position_embeddings');
  slidingWindow(config, family, ctx, problems);
  const scaling = ropeScaling(config, problems);
  refuse(family, problems);
  const theta = config.rope_parameters?.rope_theta ?? config.rope_theta ?? 10000;
  if (typeof theta !== 'number' || !(theta > 0))
    throw new ModelError(
      `config.json: rope_theta must be a positive number, got ${JSON.stringify(theta)}.`,
    );
  // Llama and Qwen3 put attention_bias on q, k, v and o; Qwen2 always biases q, k, v (never o);
  // Mistral and Phi-3 have no attention biases.
  const attentionBias =
    (family === 'llama' || family === 'qwen3') && bool(config, 'attention_bias', false);
  return {
    family,
    spec: {
      arch: 'llama',
      layers: int(config, 'num_hidden_layers'),
      heads,
      kvHeads,
      headDim,
      hidden,
      vocab: int(config, 'vocab_size'),
      maxPositions: ctx,
      intermediate: int(config, 'intermediate_size'),
      rmsNormEps: num(config, 'rms_norm_eps', d.eps),
      ropeTheta: theta,
      tieEmbeddings: bool(config, 'tie_word_embeddings', d.tie),
      ...(scaling ? { ropeScaling: scaling } : {}),
      ...(family === 'qwen2' || attentionBias ? { qkvBias: true } : {}),
      ...(attentionBias ? { oBias: true } : {}),
      ...(family === 'llama' && bool(config, 'mlp_bias', false) ? { mlpBias: true } : {}),
      ...(family === 'qwen3' ? { qkNorm: true } : {}),
    },
  };
}

const GELU_TANH = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'];

function gpt2Plan(config: Config, context?: number): ModelPlan {
  const problems: string[] = [];
  commonProblems(config, problems);
  const act = config.activation_function ?? 'gelu_new';
  if (!GELU_TANH.includes(act))
    problems.push(`activation_function '${String(act)}' (supported: ${GELU_TANH.join(', ')})`);
  if (config.scale_attn_weights === false) problems.push('scale_attn_weights false');
  if (config.scale_attn_by_inverse_layer_idx === true)
    problems.push('scale_attn_by_inverse_layer_idx true');
  if (config.add_cross_attention === true) problems.push('add_cross_attention true');
  if (config.tie_word_embeddings === false) problems.push('tie_word_embeddings false');
  const hidden = int(config, 'n_embd');
  const heads = int(config, 'n_head');
  if (hidden % heads !== 0)
    throw new ModelError(`config.json: n_embd ${hidden} is not a multiple of n_head ${heads}.`);
  const maxPositions = int(config, 'n_positions', 1024);
  const ctx = contextFor(maxPositions, context, 'n_positions');
  refuse('gpt2', problems);
  return {
    family: 'gpt2',
    spec: {
      arch: 'gpt2',
      layers: int(config, 'n_layer'),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      hidden,
      vocab: int(config, 'vocab_size'),
      maxPositions: ctx,
      inner: config.n_inner == null ? 4 * hidden : int(config, 'n_inner'),
      layerNormEps: num(config, 'layer_norm_epsilon', 1e-5),
    },
  };
}

/** Maps a config.json onto a decoder spec for a context of `context` tokens (default: the model's). */
export function planFromConfig(config: Config, options: { context?: number } = {}): ModelPlan {
  const type = config.model_type;
  if (!(FAMILIES as readonly string[]).includes(type))
    throw new ModelError(
      `config.json model_type ${JSON.stringify(type)} is not one textgen convert knows.`,
      `Supported: ${FAMILIES.join(', ')} (Llama 2/3, SmolLM, TinyLlama, Mistral, Qwen2/2.5, Qwen3, Phi-3, GPT-2).`,
    );
  return type === 'gpt2'
    ? gpt2Plan(config, options.context)
    : llamaPlan(config, type as Exclude<Family, 'gpt2'>, options.context);
}
