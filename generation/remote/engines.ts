/**
 * What each OpenAI-compatible engine reads, as a declarative table: which request fields of
 * openai-fields.ts it honours (and under which name), and how to recognise it from GET /v1/models.
 * A setting whose field the engine does not read is reported once as ignored, never sent silently.
 */
import type { GenerationSettings } from '../settings.js';
import { OPENAI_FIELDS } from './openai-fields.js';

/** An engine textgen knows the quirks of. */
export interface EngineProfile {
  /** Display name (the TUI's status line, warnings). */
  name: string;
  /** Fields of OPENAI_FIELDS it does not read. */
  ignores: string[];
  /** Fields it reads under another name. */
  renames?: Record<string, string>;
  /** Whether it answers POST /tokenize (vLLM's and textgen's shape, or llama.cpp's). */
  tokenize?: 'prompt' | 'content';
  /** Whether it accepts vLLM's return_token_ids. */
  tokenIds?: boolean;
}

const EXTENSIONS = OPENAI_FIELDS.filter((f) => !f.standard).map((f) => f.field);

/** The engines, keyed by what GET /v1/models says in owned_by. */
export const ENGINES: Record<string, EngineProfile> = {
  textgen: { name: 'textgen', ignores: [], tokenize: 'prompt', tokenIds: true },
  vllm: { name: 'vLLM', ignores: ['typical_p'], tokenize: 'prompt', tokenIds: true },
  llamacpp: {
    name: 'llama.cpp',
    ignores: ['n', 'min_tokens'],
    renames: { repetition_penalty: 'repeat_penalty' },
    tokenize: 'content',
  },
  ollama: { name: 'ollama', ignores: ['n', 'logit_bias', ...EXTENSIONS] },
  tgi: { name: 'TGI', ignores: ['n', ...EXTENSIONS] },
  openai: { name: 'OpenAI-compatible', ignores: EXTENSIONS },
};

/** Recognises the engine from a /v1/models entry. */
export function detectEngine(model: Record<string, unknown> | undefined): EngineProfile {
  const owner = String(model?.owned_by ?? '').toLowerCase();
  if (ENGINES[owner]) return ENGINES[owner];
  if (owner === 'llama.cpp' || model?.meta !== undefined) return ENGINES.llamacpp;
  // ollama lists library models (owned_by "library") and the user's own namespace; ids carry tags.
  if (owner === 'library' || owner === 'ollama') return ENGINES.ollama;
  if (owner === 'tgi' || owner === 'huggingface' || owner === 'text-generation-inference')
    return ENGINES.tgi;
  return ENGINES.openai;
}

/** Settings textgen has but no engine reads over HTTP, with their neutral values. */
const LOCAL_ONLY: Array<[keyof GenerationSettings, (s: GenerationSettings) => boolean]> = [
  ['num_beams', (s) => s.num_beams > 1],
  ['no_repeat_ngram_size', (s) => s.no_repeat_ngram_size > 0],
  ['bad_words_ids', (s) => s.bad_words_ids.length > 0],
  ['length_penalty', (s) => s.num_beams > 1 && s.length_penalty !== 1],
  ['early_stopping', (s) => s.num_beams > 1 && s.early_stopping],
  ['forced_bos_token_id', (s) => s.forced_bos_token_id !== undefined],
  ['forced_eos_token_id', (s) => (s.forced_eos_token_id?.length ?? 0) > 0],
  ['logprobs', (s) => (s.logprobs ?? 0) > 0],
];

/**
 * The request fields for `settings` on `engine`, and the settings it will ignore. suppress_tokens
 * travels as logit_bias -100 (the strongest ban OpenAI's API allows).
 */
export function requestFields(
  settings: GenerationSettings,
  engine: EngineProfile,
): { fields: Record<string, unknown>; ignored: string[] } {
  const fields: Record<string, unknown> = {};
  const ignored = LOCAL_ONLY.filter(([, set]) => set(settings)).map(([name]) => name as string);
  const bias: Record<number, number> = { ...settings.logit_bias };
  for (const id of settings.suppress_tokens) bias[id] = -100;
  const effective = { ...settings, logit_bias: bias };
  for (const row of OPENAI_FIELDS) {
    const value = row.write(effective);
    if (value === undefined) continue;
    if (engine.ignores.includes(row.field)) {
      ignored.push(row.field === 'logit_bias' && settings.suppress_tokens.length ? 'suppress_tokens/logit_bias' : row.setting); // prettier-ignore
      continue;
    }
    fields[engine.renames?.[row.field] ?? row.field] = value;
  }
  return { fields, ignored };
}
