/**
 * Generation settings: one typed object. Every field documents its neutral value (the value at which
 * the corresponding step does nothing); processors are added only for non-neutral settings.
 * Precedence is written once, in {@link resolveSettings}: built-in defaults → the model's
 * generation_config.json → user config → flags.
 */
import { UsageError } from './errors.js';

/** All decoding settings; names follow Hugging Face transformers' GenerationConfig. */
export interface GenerationSettings {
  /** Tokens to generate at most. Default 256. */
  max_new_tokens: number;
  /** EOS is suppressed until this many tokens exist. Neutral 0. */
  min_new_tokens: number;
  /** Softmax temperature; 0 means greedy. Neutral 1. Default 1 (sampling, as models' configs expect). */
  temperature: number;
  /** Keep the k most likely tokens. Neutral 0 (off). HF default 50 applies only when do_sample. */
  top_k: number;
  /** Nucleus sampling mass. Neutral 1. */
  top_p: number;
  /** Drop tokens whose probability is below min_p × the top probability. Neutral 0. */
  min_p: number;
  /** Locally typical sampling mass. Neutral 1. */
  typical_p: number;
  /** CTRL-style penalty over prompt + generated ids. Neutral 1. */
  repetition_penalty: number;
  /** OpenAI presence penalty (subtracted once per seen token). Neutral 0. */
  presence_penalty: number;
  /** OpenAI frequency penalty (subtracted per occurrence). Neutral 0. */
  frequency_penalty: number;
  /** Forbid repeating any n-gram of this size. Neutral 0. */
  no_repeat_ngram_size: number;
  /** Token ids never generated. Neutral []. */
  suppress_tokens: number[];
  /** Token-id sequences never generated (the last id is banned when the prefix matches). Neutral []. */
  bad_words_ids: number[][];
  /** Additive bias per token id. Neutral {}. */
  logit_bias: Record<number, number>;
  /** Whether to sample; false means greedy (or beam search when num_beams > 1). */
  do_sample: boolean;
  /** Beam count; 1 means no beam search. Neutral 1. */
  num_beams: number;
  /** Exponent on length in beam scores. Neutral 1. */
  length_penalty: number;
  /** Beam search stops once num_beams hypotheses are finished. Default false. */
  early_stopping: boolean;
  /** Sequences returned per prompt. Default 1. */
  num_return_sequences: number;
  /** Stop strings: generation stops before any of them; they are never printed. Neutral []. */
  stop: string[];
  /**
   * Report each generated token's log-probability and this many most likely alternatives (0..20),
   * taken from the distribution the token was chosen from. Neutral 0 (off, nothing is computed).
   * Greedy and sampling only: beam search does not report them.
   */
  logprobs?: number;
  /** Seed for the sampler's RNG; undefined picks a random seed. */
  seed?: number;
  /** EOS ids; from the model unless given. */
  eos_token_id?: number[];
  /** Pad id; from the model unless given. */
  pad_token_id?: number;
  /** Decoder start id for encoder-decoder models. */
  decoder_start_token_id?: number;
  /** Token forced as the first generated token (encoder-decoder models such as BART). */
  forced_bos_token_id?: number;
  /** Token forced at the last position allowed by max length. */
  forced_eos_token_id?: number[];
}

/** The most logprob alternatives a caller may ask for (as OpenAI's top_logprobs). */
export const MAX_LOGPROBS = 20;

/** Built-in defaults, the first layer of precedence. */
export const DEFAULT_SETTINGS: GenerationSettings = {
  max_new_tokens: 256,
  min_new_tokens: 0,
  temperature: 1,
  top_k: 0,
  top_p: 1,
  min_p: 0,
  typical_p: 1,
  repetition_penalty: 1,
  presence_penalty: 0,
  frequency_penalty: 0,
  no_repeat_ngram_size: 0,
  suppress_tokens: [],
  bad_words_ids: [],
  logit_bias: {},
  do_sample: true,
  num_beams: 1,
  length_penalty: 1,
  early_stopping: false,
  num_return_sequences: 1,
  stop: [],
};

/** A partial layer of settings (model config, user config or flags). */
export type SettingsLayer = Partial<GenerationSettings>;

/**
 * Merges layers in precedence order (later wins) over the built-in defaults, then derives do_sample
 * from temperature when a later layer set temperature 0, and validates the result.
 */
export function resolveSettings(...layers: Array<SettingsLayer | undefined>): GenerationSettings {
  const merged: GenerationSettings = { ...DEFAULT_SETTINGS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
    }
  }
  if (merged.temperature === 0) merged.do_sample = false;
  validateSettings(merged);
  return merged;
}

/** Throws a UsageError naming the first invalid field or combination. */
export function validateSettings(s: GenerationSettings): void {
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new UsageError(message);
  };
  check(
    Number.isInteger(s.max_new_tokens) && s.max_new_tokens >= 0,
    `max_new_tokens must be a non-negative integer (got ${s.max_new_tokens}).`,
  );
  check(
    Number.isInteger(s.min_new_tokens) && s.min_new_tokens >= 0,
    `min_new_tokens must be a non-negative integer (got ${s.min_new_tokens}).`,
  );
  check(
    Number.isFinite(s.temperature) && s.temperature >= 0,
    `temperature must be >= 0 (got ${s.temperature}).`,
  );
  check(
    Number.isInteger(s.top_k) && s.top_k >= 0,
    `top_k must be a non-negative integer (got ${s.top_k}).`,
  );
  check(s.top_p > 0 && s.top_p <= 1, `top_p must be in (0, 1] (got ${s.top_p}).`);
  check(s.min_p >= 0 && s.min_p <= 1, `min_p must be in [0, 1] (got ${s.min_p}).`);
  check(s.typical_p > 0 && s.typical_p <= 1, `typical_p must be in (0, 1] (got ${s.typical_p}).`);
  check(s.repetition_penalty > 0, `repetition_penalty must be > 0 (got ${s.repetition_penalty}).`);
  check(
    Number.isFinite(s.presence_penalty),
    `presence_penalty must be a number (got ${s.presence_penalty}).`,
  );
  check(
    Number.isFinite(s.frequency_penalty),
    `frequency_penalty must be a number (got ${s.frequency_penalty}).`,
  );
  check(
    Number.isInteger(s.no_repeat_ngram_size) && s.no_repeat_ngram_size >= 0,
    `no_repeat_ngram_size must be a non-negative integer (got ${s.no_repeat_ngram_size}).`,
  );
  check(
    Number.isInteger(s.num_beams) && s.num_beams >= 1,
    `num_beams must be an integer >= 1 (got ${s.num_beams}).`,
  );
  check(
    Number.isInteger(s.num_return_sequences) && s.num_return_sequences >= 1,
    `num_return_sequences must be an integer >= 1 (got ${s.num_return_sequences}).`,
  );
  check(
    Number.isFinite(s.length_penalty),
    `length_penalty must be a number (got ${s.length_penalty}).`,
  );
  if (s.num_beams > 1) {
    check(
      s.num_return_sequences <= s.num_beams,
      `num_return_sequences (${s.num_return_sequences}) must be <= num_beams (${s.num_beams}) with beam search.`,
    );
  }
  if (s.num_beams === 1 && !s.do_sample) {
    // transformers raises the same: greedy search has only one answer per prompt.
    check(
      s.num_return_sequences === 1,
      `num_return_sequences (${s.num_return_sequences}) > 1 needs sampling or beam search (num_beams >= it).`,
    );
  }
  const isId = (x: unknown) => Number.isInteger(x) && (x as number) >= 0;
  check(s.suppress_tokens.every(isId), 'suppress_tokens must be non-negative integer token ids.');
  check(
    s.bad_words_ids.every((seq) => Array.isArray(seq) && seq.length > 0 && seq.every(isId)),
    'bad_words_ids must be non-empty lists of non-negative integer token ids.',
  );
  check(
    Object.entries(s.logit_bias).every(
      ([id, b]) => isId(Number(id)) && typeof b === 'number' && !Number.isNaN(b),
    ),
    'logit_bias must map token ids to numbers.',
  );
  check(
    s.stop.every((x) => typeof x === 'string' && x.length > 0),
    'stop strings must be non-empty.',
  );
  if (s.logprobs !== undefined) {
    check(
      Number.isInteger(s.logprobs) && s.logprobs >= 0 && s.logprobs <= MAX_LOGPROBS,
      `logprobs must be an integer in 0..${MAX_LOGPROBS} (got ${s.logprobs}).`,
    );
    check(
      s.logprobs === 0 || s.num_beams === 1,
      `logprobs are not reported with beam search (num_beams ${s.num_beams}).`,
    );
  }
  if (s.seed !== undefined)
    check(
      Number.isInteger(s.seed) && s.seed >= 0,
      `seed must be a non-negative integer (got ${s.seed}).`,
    );
}

/**
 * Maps a Hugging Face generation_config.json (or config.json) object onto a settings layer, keeping
 * only the fields textgen understands and normalising scalar-or-list ids to lists.
 */
export function settingsFromModelConfig(
  config: Record<string, unknown> | undefined,
): SettingsLayer {
  if (!config) return {};
  const layer: SettingsLayer = {};
  const num = (k: string) => (typeof config[k] === 'number' ? (config[k] as number) : undefined);
  const ids = (k: string) => {
    const v = config[k];
    if (typeof v === 'number') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
    return undefined;
  };
  const copyNum = [
    'max_new_tokens',
    'min_new_tokens',
    'temperature',
    'top_k',
    'top_p',
    'min_p',
    'typical_p',
    'repetition_penalty',
    'no_repeat_ngram_size',
    'num_beams',
    'length_penalty',
    'num_return_sequences',
    'pad_token_id',
    'decoder_start_token_id',
    'forced_bos_token_id',
  ] as const;
  for (const k of copyNum) {
    const v = num(k);
    if (v !== undefined && v !== null) (layer as Record<string, unknown>)[k] = v;
  }
  if (typeof config.do_sample === 'boolean') layer.do_sample = config.do_sample;
  if (typeof config.early_stopping === 'boolean') layer.early_stopping = config.early_stopping;
  const eos = ids('eos_token_id');
  if (eos) layer.eos_token_id = eos;
  const forcedEos = ids('forced_eos_token_id');
  if (forcedEos) layer.forced_eos_token_id = forcedEos;
  // Malformed lists in a model's config are ignored rather than failing every run of that model.
  const isIdList = (v: unknown): v is number[] =>
    Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);
  if (isIdList(config.suppress_tokens)) layer.suppress_tokens = config.suppress_tokens;
  if (
    Array.isArray(config.bad_words_ids) &&
    config.bad_words_ids.every((seq) => isIdList(seq) && seq.length > 0)
  ) {
    layer.bad_words_ids = config.bad_words_ids as number[][];
  }
  return layer;
}
