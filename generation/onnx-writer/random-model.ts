/**
 * Writes a complete model folder with seeded random weights (config.json, generation_config.json,
 * tokenizer.json, tokenizer_config.json, onnx/model.onnx or another {@link RandomModelFiles} layout) in
 * the layout textgen and transformers.js load, at any size, so benchmarks run on realistic shapes
 * without downloads. The tokenizer is a byte-level BPE without merges (one token per UTF-8 byte) padded
 * with filler tokens to the vocab size, so every id the model can emit decodes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomWeights } from './decoder-common.js';
import { writeMessage } from './graph.js';
import { buildFusedDecoder, FUSED_OPSET, FUSED_STEM } from './fused-decoder.js';
import { buildGpt2, buildLlama, OPSET, type Gpt2Shape, type LlamaShape } from './llama-gpt2.js';

/** A random model to write. */
export type RandomModelSpec = ({ arch: 'llama' } & LlamaShape) | ({ arch: 'gpt2' } & Gpt2Shape);

/**
 * Which ONNX files to write: 'with-past' onnx/model.onnx with past_key_values inputs (the usual
 * export); 'no-past' onnx/model.onnx without them (a runner recomputes the sequence each step);
 * 'split' the older optimum pair onnx/decoder_model.onnx (no past) + onnx/decoder_with_past_model.onnx;
 * 'fused' onnx/model.onnx with past inputs plus textgen's fused graph of the same weights
 * (onnx/textgen_decoder.onnx, which textgen prefers; transformers.js runs the first).
 */
export type RandomModelFiles = 'with-past' | 'no-past' | 'split' | 'fused';

/** Named shapes: real models' (SmolLM2-135M) and round sizes for benchmarks and tests. */
export const PRESETS: Record<string, RandomModelSpec> = {
  'smollm2-135m': {
    arch: 'llama',
    layers: 30,
    heads: 9,
    kvHeads: 3,
    headDim: 64,
    hidden: 576,
    intermediate: 1536,
    vocab: 49152,
    maxPositions: 2048,
    rmsNormEps: 1e-5,
    ropeTheta: 100000,
    tieEmbeddings: true,
  },
  'llama-40m': {
    arch: 'llama',
    layers: 8,
    heads: 8,
    kvHeads: 4,
    headDim: 64,
    hidden: 512,
    intermediate: 1376,
    vocab: 32000,
    maxPositions: 2048,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieEmbeddings: true,
  },
  'gpt2-40m': {
    arch: 'gpt2',
    layers: 8,
    heads: 8,
    kvHeads: 8,
    headDim: 64,
    hidden: 512,
    inner: 2048,
    vocab: 32000,
    maxPositions: 2048,
    layerNormEps: 1e-5,
  },
  'llama-tiny': {
    arch: 'llama',
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: 8,
    hidden: 32,
    intermediate: 64,
    vocab: 300,
    maxPositions: 128,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieEmbeddings: false,
  },
  'gpt2-tiny': {
    arch: 'gpt2',
    layers: 2,
    heads: 4,
    kvHeads: 4,
    headDim: 8,
    hidden: 32,
    inner: 128,
    vocab: 300,
    maxPositions: 128,
    layerNormEps: 1e-5,
  },
};

/** Parameter count of a spec (the tied head counted once). */
export function parameterCount(s: RandomModelSpec): number {
  const embed = s.vocab * s.hidden;
  if (s.arch === 'llama') {
    const attn = s.hidden * s.heads * s.headDim * 2 + s.hidden * s.kvHeads * s.headDim * 2;
    const perLayer = attn + 3 * s.hidden * s.intermediate + 2 * s.hidden;
    return embed + s.layers * perLayer + s.hidden + (s.tieEmbeddings ? 0 : embed);
  }
  const width = s.heads * s.headDim;
  const perLayer =
    s.hidden * 3 * width +
    3 * width +
    width * s.hidden +
    s.hidden +
    2 * s.hidden * s.inner +
    s.inner +
    s.hidden +
    4 * s.hidden;
  return embed + s.maxPositions * s.hidden + s.layers * perLayer + 2 * s.hidden;
}

/** GPT-2's byte → printable-character map (bytes_to_unicode). */
function byteChars(): string[] {
  const keep = (b: number) =>
    (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + extra++));
  return out;
}

/** tokenizer.json: id 0 `<|endoftext|>`, ids 1..256 the bytes, then filler tokens up to `vocab`. */
export function byteLevelTokenizer(vocab: number): object {
  if (vocab < 257)
    throw new RangeError(`a byte-level vocabulary needs at least 257 ids, got ${vocab}`);
  const entries: Record<string, number> = { '<|endoftext|>': 0 };
  byteChars().forEach((c, b) => (entries[c] = b + 1));
  for (let id = 257; id < vocab; id++) entries[`w${id}`] = id;
  const byteLevel = {
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 0,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: entries,
      merges: [],
    },
  };
}

function configJson(s: RandomModelSpec): object {
  const ids = {
    bos_token_id: 0,
    eos_token_id: 0,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: s.vocab,
  };
  if (s.arch === 'llama') {
    return {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: s.hidden,
      intermediate_size: s.intermediate,
      num_hidden_layers: s.layers,
      num_attention_heads: s.heads,
      num_key_value_heads: s.kvHeads,
      head_dim: s.headDim,
      max_position_embeddings: s.maxPositions,
      rms_norm_eps: s.rmsNormEps,
      rope_theta: s.ropeTheta,
      hidden_act: 'silu',
      tie_word_embeddings: s.tieEmbeddings,
      ...ids,
    };
  }
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    n_embd: s.hidden,
    n_layer: s.layers,
    n_head: s.heads,
    n_inner: s.inner,
    n_positions: s.maxPositions,
    n_ctx: s.maxPositions,
    activation_function: 'gelu_new',
    layer_norm_epsilon: s.layerNormEps,
    tie_word_embeddings: true,
    ...ids,
  };
}

/**
 * Writes the folder for `spec` with weights drawn from `seed` as the ONNX `files` layout; returns the
 * path of the ONNX file that decodes steps (model.onnx, decoder_with_past_model.onnx for 'split',
 * textgen_decoder.onnx for 'fused').
 */
export function writeRandomModel(
  dir: string,
  spec: RandomModelSpec,
  seed = 0,
  files: RandomModelFiles = 'with-past',
): string {
  if (spec.heads % spec.kvHeads !== 0)
    throw new RangeError(`heads (${spec.heads}) must be a multiple of kvHeads (${spec.kvHeads})`);
  if (spec.arch === 'gpt2' && spec.kvHeads !== spec.heads)
    throw new RangeError('GPT-2 has no grouped-query attention: kvHeads must equal heads');
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const graphs: Array<[string, boolean]> =
    files === 'split'
      ? [
          ['decoder_model', false],
          ['decoder_with_past_model', true],
        ]
      : [['model', files === 'with-past' || files === 'fused']];
  let path = '';
  if (files === 'fused') {
    path = join(dir, 'onnx', `${FUSED_STEM}.onnx`);
    const graph = buildFusedDecoder(spec, randomWeights(seed), { dtype: 'fp32' });
    writeMessage(path, graph.model(FUSED_OPSET));
  }
  for (const [name, pastInputs] of graphs) {
    // A fresh source per file: weights are drawn in the same order either way, so a pair holds one model.
    const weights = randomWeights(seed);
    const graph =
      spec.arch === 'llama'
        ? buildLlama(spec, weights, { pastInputs })
        : buildGpt2(spec, weights, { pastInputs });
    const file = join(dir, 'onnx', `${name}.onnx`);
    writeMessage(file, graph.model(OPSET));
    if (files !== 'fused') path = file;
  }
  const json = (name: string, value: object) =>
    writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
  json('config.json', configJson(spec));
  json('generation_config.json', {
    bos_token_id: 0,
    eos_token_id: 0,
    max_length: spec.maxPositions,
  });
  json('tokenizer.json', byteLevelTokenizer(spec.vocab));
  json('tokenizer_config.json', {
    tokenizer_class: 'GPT2Tokenizer',
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    add_bos_token: false,
    add_eos_token: false,
    model_max_length: spec.maxPositions,
  });
  return path;
}
