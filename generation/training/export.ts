/**
 * Writes a trained model in the Hugging Face / optimum layout that textgen loads: config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 * onnx/model.onnx (the optimum KV-cache decoder transformers.js runs) and onnx/textgen_decoder.onnx
 * (textgen's fused graph of the same weights, which textgen prefers), plus the training summary.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WeightSource } from '../onnx-writer/decoder-common.js';
import { writeMessage } from '../onnx-writer/graph.js';
import { buildFusedDecoder, FUSED_OPSET, FUSED_STEM } from '../onnx-writer/fused-decoder.js';
import { buildLlama, OPSET, type LlamaShape } from '../onnx-writer/llama-gpt2.js';
import { BOS_ID, EOS_ID, type BpeModel } from './bpe-trainer.js';
import { specialTokensMapJson, tokenizerConfigJson, tokenizerJson } from './hf-tokenizer.js';
import { paramLayout, type LlamaConfig } from './model-params.js';

/** The emitter's shape of a trainer config (tied embeddings). */
export function llamaShape(c: LlamaConfig): LlamaShape {
  return {
    layers: c.nLayers,
    heads: c.nHeads,
    kvHeads: c.nKvHeads,
    headDim: c.headDim,
    hidden: c.dim,
    vocab: c.vocabSize,
    maxPositions: c.maxSeqLen,
    intermediate: c.ffnDim,
    rmsNormEps: c.normEps,
    ropeTheta: c.ropeTheta,
    tieEmbeddings: true,
  };
}

/** The trained weights by Hugging Face name, as views of the flat parameter block (no copies). */
export function weightSource(c: LlamaConfig, params: Float32Array): WeightSource {
  const L = paramLayout(c);
  const D = c.dim,
    qd = c.nHeads * c.headDim,
    kvd = c.nKvHeads * c.headDim;
  const at = (off: number, n: number): Float32Array => params.subarray(off, off + n);
  const byName = new Map<string, Float32Array>([
    ['model.embed_tokens.weight', at(L.embed, c.vocabSize * D)],
    ['model.norm.weight', at(L.finalNorm, D)],
  ]);
  L.layers.forEach((l, i) => {
    const p = `model.layers.${i}`;
    byName.set(`${p}.input_layernorm.weight`, at(l.attnNorm, D));
    byName.set(`${p}.self_attn.q_proj.weight`, at(l.wq, D * qd));
    byName.set(`${p}.self_attn.k_proj.weight`, at(l.wk, D * kvd));
    byName.set(`${p}.self_attn.v_proj.weight`, at(l.wv, D * kvd));
    byName.set(`${p}.self_attn.o_proj.weight`, at(l.wo, qd * D));
    byName.set(`${p}.post_attention_layernorm.weight`, at(l.ffnNorm, D));
    byName.set(`${p}.mlp.gate_proj.weight`, at(l.w1, D * c.ffnDim));
    byName.set(`${p}.mlp.up_proj.weight`, at(l.w3, D * c.ffnDim));
    byName.set(`${p}.mlp.down_proj.weight`, at(l.w2, c.ffnDim * D));
  });
  return (name, dims) => {
    const w = byName.get(name);
    if (!w || w.length !== dims.reduce((a, b) => a * b, 1))
      throw new Error(`no trained weight ${name} [${dims}]`);
    return w;
  };
}

/** Writes the ONNX graph of the trained weights to `path`. */
export function writeOnnx(path: string, c: LlamaConfig, params: Float32Array): void {
  writeMessage(
    path,
    buildLlama(llamaShape(c), weightSource(c, params)).model(OPSET, 'textgen train'),
  );
}

/** Writes textgen's fused graph of the trained weights to `path`. */
export function writeFusedOnnx(path: string, c: LlamaConfig, params: Float32Array): void {
  writeFusedFrom(path, llamaShape(c), weightSource(c, params));
}

/** Writes the fused graph of a Llama shape from any weight source (the default model's rebuild). */
export function writeFusedFrom(path: string, shape: LlamaShape, weights: WeightSource): void {
  const graph = buildFusedDecoder({ arch: 'llama', ...shape }, weights, { dtype: 'fp32' });
  writeMessage(path, graph.model(FUSED_OPSET, 'textgen train'));
}

/** The trainer config a config.json written by {@link configJson} describes. */
export function configFromJson(json: Record<string, number>): LlamaConfig {
  return {
    vocabSize: json.vocab_size,
    dim: json.hidden_size,
    nLayers: json.num_hidden_layers,
    nHeads: json.num_attention_heads,
    nKvHeads: json.num_key_value_heads,
    headDim: json.head_dim,
    ffnDim: json.intermediate_size,
    maxSeqLen: json.max_position_embeddings,
    ropeTheta: json.rope_theta,
    normEps: json.rms_norm_eps,
  };
}

/** config.json of a LlamaForCausalLM with tied embeddings. */
export function configJson(c: LlamaConfig): object {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.ffnDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: true,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    pad_token_id: 0,
    torch_dtype: 'float32',
    use_cache: true,
  };
}

/**
 * generation_config.json. A model this small samples mostly non-words at temperature 1 from the full
 * distribution, so it ships the conservative sampling defaults small HF models commonly carry.
 */
export function generationConfigJson(c: LlamaConfig): object {
  return {
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    pad_token_id: 0,
    max_length: c.maxSeqLen,
    do_sample: true,
    temperature: 0.7,
    top_k: 40,
    top_p: 0.9,
    repetition_penalty: 1.1,
  };
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Writes the model folder. The ONNX files are written under temporary names and renamed, so a reader
 * never sees a half-written graph.
 */
export function writeModelDir(
  dir: string,
  c: LlamaConfig,
  bpe: BpeModel,
  params: Float32Array,
  summary?: object,
): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeJson(join(dir, 'config.json'), configJson(c));
  writeJson(join(dir, 'generation_config.json'), generationConfigJson(c));
  writeJson(join(dir, 'tokenizer.json'), tokenizerJson(bpe));
  writeJson(join(dir, 'tokenizer_config.json'), tokenizerConfigJson(c.maxSeqLen));
  writeJson(join(dir, 'special_tokens_map.json'), specialTokensMapJson());
  if (summary) writeJson(join(dir, 'training_summary.json'), summary);
  const onnx = join(dir, 'onnx', 'model.onnx');
  writeOnnx(onnx + '.tmp', c, params);
  renameSync(onnx + '.tmp', onnx);
  const fused = join(dir, 'onnx', `${FUSED_STEM}.onnx`);
  writeFusedOnnx(fused + '.tmp', c, params);
  renameSync(fused + '.tmp', fused);
}
