/**
 * Parses `/set PARAM VALUE` for every field of GenerationSettings. The kind table is checked against
 * the settings type at compile time, so a new setting cannot be forgotten here.
 */
import type { GenerationSettings, SettingsLayer } from '../generation/settings.js';
import { UsageError } from '../generation/errors.js';

type Kind = 'int' | 'number' | 'boolean' | 'ids' | 'id-lists' | 'bias' | 'strings';

const KINDS = {
  max_new_tokens: 'int',
  min_new_tokens: 'int',
  temperature: 'number',
  top_k: 'int',
  top_p: 'number',
  min_p: 'number',
  typical_p: 'number',
  repetition_penalty: 'number',
  presence_penalty: 'number',
  frequency_penalty: 'number',
  no_repeat_ngram_size: 'int',
  suppress_tokens: 'ids',
  bad_words_ids: 'id-lists',
  logit_bias: 'bias',
  do_sample: 'boolean',
  num_beams: 'int',
  length_penalty: 'number',
  early_stopping: 'boolean',
  num_return_sequences: 'int',
  stop: 'strings',
  logprobs: 'int',
  seed: 'int',
  eos_token_id: 'ids',
  pad_token_id: 'int',
  decoder_start_token_id: 'int',
  forced_bos_token_id: 'int',
  forced_eos_token_id: 'ids',
} as const satisfies Record<keyof GenerationSettings, Kind>;

/** Every setting name, in settings.ts order (used for completion and /show). */
export const SETTING_NAMES = Object.keys(KINDS) as Array<keyof GenerationSettings>;

/** The value syntax of each kind, for error messages and /help. */
const SYNTAX: Record<Kind, string> = {
  int: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  ids: 'token ids separated by commas, e.g. 2,13',
  'id-lists': 'a JSON list of id lists, e.g. [[5,6],[7]]',
  bias: 'id:bias pairs separated by commas, e.g. 13:-5,42:2',
  strings: 'a JSON list of strings, e.g. ["\\n\\n","User:"], or one string',
};

function parseIds(raw: string): number[] {
  const ids = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (!ids.every((n) => Number.isInteger(n) && n >= 0)) throw new Error('bad id');
  return ids;
}

function parseKind(kind: Kind, raw: string): unknown {
  switch (kind) {
    case 'int':
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n)))
        throw new Error('bad number');
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new Error('bad boolean');
      return raw === 'true';
    case 'ids':
      return parseIds(raw);
    case 'id-lists': {
      const value = JSON.parse(raw) as unknown;
      if (
        !Array.isArray(value) ||
        !value.every((l) => Array.isArray(l) && l.every((n) => Number.isInteger(n)))
      )
        throw new Error('bad lists');
      return value;
    }
    case 'bias': {
      const bias: Record<number, number> = {};
      for (const pair of raw.split(',').filter((s) => s.trim())) {
        const [id, value] = pair.split(':').map((s) => Number(s.trim()));
        if (!Number.isInteger(id) || !Number.isFinite(value)) throw new Error('bad bias');
        bias[id] = value;
      }
      return bias;
    }
    case 'strings': {
      if (raw.startsWith('[')) {
        const value = JSON.parse(raw) as unknown;
        if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
          throw new Error('bad strings');
        return value;
      }
      // One bare string; JSON string escapes (\n, \t) are understood so a newline can be typed.
      return [JSON.parse(`"${raw.replace(/"/g, '\\"')}"`) as string];
    }
  }
}

/** Whether `name` is a setting. */
export function isSettingName(name: string): name is keyof GenerationSettings {
  return Object.hasOwn(KINDS, name);
}

/**
 * Returns the overrides layer after `/set name raw`: `default` removes the override; anything else is
 * parsed by the setting's kind. Throws a UsageError that says the expected syntax.
 */
export function applySetting(overrides: SettingsLayer, name: string, raw: string): SettingsLayer {
  if (!isSettingName(name))
    throw new UsageError(
      `Unknown setting '${name}'.`,
      'Type /set and press Tab to list the settings.',
    );
  const next: SettingsLayer = { ...overrides };
  if (raw === 'default') {
    delete next[name];
    return next;
  }
  const kind = KINDS[name];
  let value: unknown;
  try {
    value = parseKind(kind, raw);
  } catch {
    throw new UsageError(
      `${name} takes ${SYNTAX[kind]} (got '${raw}').`,
      `Use /set ${name} default to go back to the model's value.`,
    );
  }
  (next as Record<string, unknown>)[name] = value;
  return next;
}

/** Formats a setting's value the way /set accepts it. */
export function formatSetting(value: unknown): string {
  if (value === undefined) return '(model default)';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
