// config.json → decoder spec for the configs of real checkpoints (fields as published on the Hub),
// and the refusals: each unsupported setting is named, nothing is guessed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelError, UsageError } from '../../../generation/errors.js';
import { planFromConfig } from '../../../generation/convert/config-spec.js';

const smolLm2 = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  rope_scaling: null,
  tie_word_embeddings: true,
  vocab_size: 49152,
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
  pretraining_tp: 1,
};

const llama32 = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  rope_scaling: {
    factor: 32,
    high_freq_factor: 4,
    low_freq_factor: 1,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  tie_word_embeddings: true,
  vocab_size: 128256,
  eos_token_id: [128001, 128008, 128009],
};

const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  sliding_window: 32768,
  use_sliding_window: false,
  tie_word_embeddings: true,
  vocab_size: 151936,
};

const qwen3 = {
  architectures: ['Qwen3ForCausalLM'],
  model_type: 'qwen3',
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 128,
  max_position_embeddings: 40960,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  rope_scaling: null,
  attention_bias: false,
  sliding_window: null,
  use_sliding_window: false,
  tie_word_embeddings: true,
  vocab_size: 151936,
};

const phi3 = {
  architectures: ['Phi3ForCausalLM'],
  model_type: 'phi3',
  hidden_size: 3072,
  intermediate_size: 8192,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  max_position_embeddings: 4096,
  original_max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  rope_scaling: null,
  sliding_window: 2047,
  tie_word_embeddings: false,
  vocab_size: 32064,
};

const mistral01 = {
  architectures: ['MistralForCausalLM'],
  model_type: 'mistral',
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  sliding_window: 4096,
  vocab_size: 32000,
};

const gpt2 = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  activation_function: 'gelu_new',
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  layer_norm_epsilon: 1e-5,
  vocab_size: 50257,
};

function refused(config: object, pattern: RegExp, context?: number): void {
  assert.throws(
    () => planFromConfig(config, { context }),
    (e: unknown) => {
      assert.ok(e instanceof ModelError || e instanceof UsageError, String(e));
      assert.match((e as Error).message, pattern);
      return true;
    },
  );
}

test('SmolLM2: Llama with head_dim from hidden/heads, GQA 9:3, tied, no features', () => {
  const { family, spec } = planFromConfig(smolLm2);
  assert.equal(family, 'llama');
  assert.deepEqual(spec, {
    arch: 'llama',
    layers: 30,
    heads: 9,
    kvHeads: 3,
    headDim: 64,
    hidden: 576,
    vocab: 49152,
    maxPositions: 8192,
    intermediate: 1536,
    rmsNormEps: 1e-5,
    ropeTheta: 100000,
    tieEmbeddings: true,
  });
});

test('Llama 3.2: llama3 rope scaling, --context below max_position_embeddings', () => {
  const { spec } = planFromConfig(llama32, { context: 4096 });
  assert.equal(spec.arch, 'llama');
  if (spec.arch !== 'llama') return;
  assert.equal(spec.maxPositions, 4096);
  assert.deepEqual(spec.ropeScaling, {
    type: 'llama3',
    factor: 32,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositions: 8192,
  });
  refused(
    llama32,
    /--context 200000 is more than the model's max_position_embeddings \(131072\)/,
    200000,
  );
});

test('transformers 5 rope_parameters carry the theta and the scaling', () => {
  const { rope_theta: _theta, rope_scaling: scaling, ...rest } = llama32;
  void _theta;
  const { spec } = planFromConfig({ ...rest, rope_parameters: { ...scaling, rope_theta: 500000 } });
  assert.ok(
    spec.arch === 'llama' && spec.ropeTheta === 500000 && spec.ropeScaling?.type === 'llama3',
    "spec.arch === 'llama' && spec.ropeTheta === 500000 && spec.ropeScaling?.type === 'llama3'",
  );
});

test('Qwen2.5: q/k/v biases, an unused sliding window is ignored', () => {
  const { family, spec } = planFromConfig(qwen25);
  assert.equal(family, 'qwen2');
  assert.ok(
    spec.arch === 'llama' && spec.qkvBias && !spec.oBias && !spec.qkNorm,
    "spec.arch === 'llama' && spec.qkvBias && !spec.oBias && !spec.qkNorm",
  );
  assert.equal(spec.headDim, 64);
  refused({ ...qwen25, use_sliding_window: true, sliding_window: 4096 }, /sliding_window 4096/);
});

test('Qwen3: q/k norm, explicit head_dim 128 (≠ 1024/16)', () => {
  const { spec } = planFromConfig(qwen3);
  assert.ok(
    spec.arch === 'llama' && spec.qkNorm && !spec.qkvBias,
    "spec.arch === 'llama' && spec.qkNorm && !spec.qkvBias",
  );
  assert.equal(spec.headDim, 128);
  assert.equal(spec.heads * spec.headDim, 2048);
});

test('Phi-3 mini 4k: its 2047-token sliding window is refused unless --context fits in it', () => {
  refused(
    phi3,
    /sliding_window 2047 is shorter than the context 4096 \(convert with --context 2047 or less\)/,
  );
  const { family, spec } = planFromConfig(phi3, { context: 2047 });
  assert.equal(family, 'phi3');
  assert.equal(spec.maxPositions, 2047);
  assert.equal(spec.arch === 'llama' && spec.tieEmbeddings, false);
});

test('Mistral 7B v0.1 needs --context 4096; v0.3 (no window) converts at full length', () => {
  refused(mistral01, /sliding_window 4096/);
  assert.equal(planFromConfig(mistral01, { context: 4096 }).spec.maxPositions, 4096);
  assert.equal(planFromConfig({ ...mistral01, sliding_window: null }).spec.maxPositions, 32768);
});

test('GPT-2: n_inner null is 4·n_embd; n_positions is the context', () => {
  const { spec } = planFromConfig(gpt2);
  assert.deepEqual(spec, {
    arch: 'gpt2',
    layers: 12,
    heads: 12,
    kvHeads: 12,
    headDim: 64,
    hidden: 768,
    vocab: 50257,
    maxPositions: 1024,
    inner: 3072,
    layerNormEps: 1e-5,
  });
});

test('refusals name every unsupported field', () => {
  refused(
    { ...smolLm2, model_type: 'mixtral' },
    /model_type "mixtral" is not one textgen convert knows/,
  );
  refused(
    { ...smolLm2, rope_scaling: { rope_type: 'yarn', factor: 4 } },
    /rope_scaling type 'yarn'/,
  );
  refused(
    { ...phi3, rope_scaling: { type: 'longrope', long_factor: [], short_factor: [] } },
    /rope_scaling type 'longrope'.*sliding_window 2047|sliding_window 2047.*rope_scaling type 'longrope'/,
  );
  refused({ ...smolLm2, rope_scaling: { type: 'dynamic', factor: 2 } }, /type 'dynamic'/);
  refused({ ...smolLm2, hidden_act: 'gelu' }, /hidden_act 'gelu'/);
  refused({ ...smolLm2, partial_rotary_factor: 0.5 }, /partial_rotary_factor 0.5/);
  refused({ ...smolLm2, quantization_config: { quant_method: 'gptq' } }, /quantization_config/);
  refused({ ...gpt2, activation_function: 'relu' }, /activation_function 'relu'/);
  refused({ ...gpt2, scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx/);
  refused(
    { ...smolLm2, num_key_value_heads: 4 },
    /num_attention_heads 9 is not a multiple of num_key_value_heads 4/,
  );
  refused({ ...smolLm2, hidden_size: 'big' }, /hidden_size must be a positive integer, got "big"/);
});

test('Llama attention_bias and mlp_bias become q/k/v/o and MLP biases', () => {
  const { spec } = planFromConfig({ ...smolLm2, attention_bias: true, mlp_bias: true });
  assert.ok(
    spec.arch === 'llama' && spec.qkvBias && spec.oBias && spec.mlpBias,
    "spec.arch === 'llama' && spec.qkvBias && spec.oBias && spec.mlpBias",
  );
});
