/**
 * The shapes of a model folder's JSON files as far as textgen reads them. Every field is optional
 * (real files omit most) and unknown fields stay, typed `unknown`, so code that reads a field it does
 * not declare has to check its type first.
 */

/** A parsed JSON object whose fields are not known. */
export type JsonObject = { [key: string]: unknown };

/** Whether a parsed JSON value is an object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** config.json (transformers' PretrainedConfig): the fields textgen reads. */
export interface ConfigJson extends JsonObject {
  model_type?: string;
  architectures?: string[];
  is_encoder_decoder?: boolean;
  vocab_size?: number;
  torch_dtype?: string;
  max_position_embeddings?: number;
  n_positions?: number;
  n_ctx?: number;
  max_sequence_length?: number;
  seq_length?: number;
  hidden_size?: number;
  n_embd?: number;
  d_model?: number;
  head_dim?: number;
  d_kv?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  n_head?: number;
  num_heads?: number;
  decoder_attention_heads?: number;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
  decoder_start_token_id?: number;
  forced_bos_token_id?: number;
  forced_eos_token_id?: number | number[];
}

/** tokenizer_config.json: the fields textgen reads. Special tokens are strings or AddedToken objects. */
export interface TokenizerConfigJson extends JsonObject {
  bos_token?: unknown;
  eos_token?: unknown;
  unk_token?: unknown;
  pad_token?: unknown;
  chat_template?: unknown;
  clean_up_tokenization_spaces?: boolean;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  model_max_length?: number;
}

/** The decoder section of genai_config.json's model. */
export interface GenaiDecoderJson extends JsonObject {
  filename?: string;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  hidden_size?: number;
  head_size?: number;
  /** Tensor names (input_ids, attention_mask, position_ids, past_key_names, ...). */
  inputs?: Record<string, string>;
  /** Tensor names (logits, present_key_names, ...). */
  outputs?: Record<string, string>;
}

/** genai_config.json (onnxruntime-genai): the fields textgen reads. */
export interface GenaiConfigJson extends JsonObject {
  model?: {
    type?: string;
    vocab_size?: number;
    context_length?: number;
    eos_token_id?: number | number[];
    pad_token_id?: number;
    decoder?: GenaiDecoderJson;
    [key: string]: unknown;
  };
  search?: JsonObject;
}
