/**
 * Generation settings: one typed object. Every field documents its neutral value (the value at which
 * the corresponding step does nothing); processors are added only for non-neutral settings.
 * Precedence is written once, in {@link resolveSettings}: built-in defaults → the model's
 * generation_config.json → user config → flags (→ a `--jsonl` line, `/set`, an HTTP body). Names,
 * types and ranges live in settings-schema.ts, the one parser every source goes through.
 */
import { formatBytes } from '../common/format.js';
import { UsageError } from './errors.js';
import { parseSettingJson, settingsFromJson, SETTING_SPECS } from './settings-schema.js';

export { MAX_LIST, MAX_LOGPROBS, MAX_ROWS, MAX_TOKENS } from './settings-schema.js';

/** All decoding settings; names follow Hugging Face transformers' GenerationConfig. */
export interface GenerationSettings {
  /** Tokens to generate at most. Default 256. */
  max_new_tokens: number;
  /**
   * Total length (prompt + generated) at most, Hugging Face's max_length. Present only while it
   * decides: a later layer's max_new_tokens removes it, and so does max_new_tokens in the same layer.
   */
  max_length?: number;
  /** EOS is suppressed until this many tokens exist. Neutral 0. */
  min_new_tokens: number;
  /** EOS is suppressed until the total length reaches this (Hugging Face's min_length); as max_length. */
  min_length?: number;
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
 * from temperature when a later layer set temperature 0, and validates the result. Length limits
 * follow Hugging Face: the layer that last set max_new_tokens or max_length decides, and
 * max_new_tokens wins when one layer sets both (likewise min_new_tokens and min_length).
 */
export function resolveSettings(...layers: Array<SettingsLayer | undefined>): GenerationSettings {
  const merged: GenerationSettings = { ...DEFAULT_SETTINGS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
    }
    if (layer.max_new_tokens !== undefined) delete merged.max_length;
    if (layer.min_new_tokens !== undefined) delete merged.min_length;
  }
  if (merged.temperature === 0) merged.do_sample = false;
  validateSettings(merged);
  return merged;
}

/**
 * The settings for prompts of `promptLength` tokens (the longest of a batch, as Hugging Face counts
 * the padded input; 1 for a text-to-text decoder's start token): max_length and min_length become
 * max_new_tokens and min_new_tokens.
 */
export function applyLengthLimits(
  settings: GenerationSettings,
  promptLength: number,
): GenerationSettings {
  if (settings.max_length === undefined && settings.min_length === undefined) return settings;
  const { max_length, min_length, ...rest } = settings;
  return {
    ...rest,
    max_new_tokens:
      max_length === undefined ? rest.max_new_tokens : Math.max(0, max_length - promptLength),
    min_new_tokens:
      min_length === undefined ? rest.min_new_tokens : Math.max(0, min_length - promptLength),
  };
}

/** Throws a UsageError naming the first invalid field (kebab-case, as users type it) or combination. */
export function validateSettings(s: GenerationSettings): void {
  const record = s as unknown as Record<string, unknown>;
  for (const spec of SETTING_SPECS) {
    if (record[spec.key] !== undefined) parseSettingJson(spec.key, record[spec.key], {});
  }
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new UsageError(message);
  };
  if (s.num_beams > 1) {
    check(
      s.num_return_sequences <= s.num_beams,
      `num-return-sequences (${s.num_return_sequences}) must be <= num-beams (${s.num_beams}) with beam search.`,
    );
  }
  if (s.num_beams === 1 && !s.do_sample) {
    // transformers raises the same: greedy search has only one answer per prompt.
    check(
      s.num_return_sequences === 1,
      `num-return-sequences (${s.num_return_sequences}) > 1 needs sampling or beam search (num-beams >= it).`,
    );
  }
  if (s.logprobs !== undefined)
    check(
      s.logprobs === 0 || s.num_beams === 1,
      `logprobs are not reported with beam search (num-beams ${s.num_beams}).`,
    );
}

/** The most rows (prompts × beams or sequences) one generate call decodes together. */
export const MAX_BATCH_ROWS = 4096;

/** What the memory estimate needs to know about a loaded model. */
export interface MemoryFacts {
  vocabSize: number;
  contextLength: number;
  /** KV-cache bytes per token per row (keys and values of every layer); 0 without a cache. */
  kvBytesPerToken: number;
  /** Whether prefill returns logits for every prompt position (no num_logits_to_keep input). */
  fullPrefillLogits: boolean;
}

/**
 * Checks that a call fits: rows = prompts × max(num_beams, num_return_sequences) at most
 * {@link MAX_BATCH_ROWS}, and the estimated bytes of logits and KV cache within `budgetBytes`.
 * Throws a UsageError that says which settings to lower; returns the estimate otherwise.
 */
export function checkGenerationMemory(
  settings: GenerationSettings,
  prompts: number,
  promptTokens: number,
  facts: MemoryFacts,
  budgetBytes: number,
): number {
  const perPrompt = Math.max(settings.num_beams, settings.num_return_sequences);
  const rows = prompts * perPrompt;
  const what = `${prompts} prompt(s) × ${perPrompt} ${settings.num_beams > 1 ? 'beams' : 'sequences'} = ${rows} rows`;
  const hint = 'Lower --num-beams, --num-return-sequences or --batch-size.';
  if (rows > MAX_BATCH_ROWS)
    throw new UsageError(`${what} is more than textgen decodes at once (${MAX_BATCH_ROWS}).`, hint);
  const tokens = Math.min(facts.contextLength, promptTokens + settings.max_new_tokens);
  // Per row: the cache over the whole sequence, and the logits row with its processed copies.
  const perRow = tokens * facts.kvBytesPerToken + facts.vocabSize * 4 * 3;
  const prefill = facts.fullPrefillLogits ? prompts * promptTokens * facts.vocabSize * 4 : 0;
  const bytes = rows * perRow + prefill;
  if (bytes > budgetBytes)
    throw new UsageError(
      `${what} would need about ${formatBytes(bytes)} for logits and KV cache; the limit here is ${formatBytes(budgetBytes)}.`,
      hint,
    );
  return bytes;
}

/** The fields a model's generation_config.json (or config.json, genai search) may set. */
const MODEL_CONFIG_KEYS = [
  'max_new_tokens',
  'max_length',
  'min_new_tokens',
  'min_length',
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
  'do_sample',
  'early_stopping',
  'eos_token_id',
  'pad_token_id',
  'decoder_start_token_id',
  'forced_bos_token_id',
  'forced_eos_token_id',
  'suppress_tokens',
  'bad_words_ids',
];

/**
 * Maps a Hugging Face generation_config.json (or config.json) object onto a settings layer, keeping
 * only the fields textgen understands, normalising scalar-or-list ids to lists, and ignoring
 * malformed values rather than failing every run of that model.
 */
export function settingsFromModelConfig(
  config: Record<string, unknown> | undefined,
): SettingsLayer {
  if (!config) return {};
  const known = Object.fromEntries(
    Object.entries(config).filter(([k]) => MODEL_CONFIG_KEYS.includes(k)),
  );
  return settingsFromJson(known, { where: "the model's generation config" }, { invalid: 'ignore' });
}
