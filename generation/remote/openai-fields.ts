/**
 * The OpenAI-compatible request fields and the generation settings they stand for, as one declarative
 * table read in both directions: `textgen serve` reads request bodies into a settings layer, and the
 * remote client (--endpoint) writes resolved settings into request bodies. Extensions (top_k, min_p,
 * typical_p, repetition_penalty, min_tokens) use vLLM's names; `engineFields` says which engine reads
 * which of them. Settings with no field here (beam search, n-gram bans, ...) never travel over HTTP.
 */
import type { GenerationSettings, SettingsLayer } from '../settings.js';

/** A request value that does not fit its field; `field` names it for the error envelope. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FieldError';
  }
}

/** Limits on request values (the server's caps; the defaults are textgen serve's). */
export interface FieldLimits {
  maxTokens: number;
  n: number;
  stop: number;
  stopLength: number;
  logitBias: number;
}

/** textgen serve's default caps. */
export const DEFAULT_FIELD_LIMITS: FieldLimits = {
  maxTokens: 4096,
  n: 8,
  stop: 4,
  stopLength: 256,
  logitBias: 300,
};

type Reader = (value: unknown, field: string, limits: FieldLimits) => SettingsLayer;

/** One row of the table. */
export interface OpenAiField {
  /** The request field (the name textgen sends). */
  field: string;
  /** Other names accepted in requests. */
  aliases?: string[];
  /** The setting it maps onto. */
  setting: keyof GenerationSettings;
  /** Part of OpenAI's API (false: an extension that only some engines read). */
  standard: boolean;
  read: Reader;
  /** The request value for a resolved setting; undefined when the setting is at its neutral value. */
  write: (settings: GenerationSettings) => unknown;
}

function number(value: unknown, field: string, ok: (x: number) => boolean, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value))
    throw new FieldError(field, `'${field}' must be ${what}.`);
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  const range = max === Infinity ? `>= ${min}` : `in ${min}..${max}`;
  return number(
    value,
    field,
    (x) => Number.isInteger(x) && x >= min && x <= max,
    `an integer ${range}`,
  );
}

const unit = (x: number) => x > 0 && x <= 1;

function stopList(value: unknown, field: string, limits: FieldLimits): SettingsLayer {
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length > limits.stop ||
    !list.every((s) => typeof s === 'string' && s.length > 0 && s.length <= limits.stopLength)
  )
    throw new FieldError(
      field,
      `'${field}' must be a non-empty string or up to ${limits.stop} of them, each at most ${limits.stopLength} characters.`,
    );
  return { stop: list as string[] };
}

function logitBias(value: unknown, field: string, limits: FieldLimits): SettingsLayer {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new FieldError(field, `'${field}' must map token ids to numbers.`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > limits.logitBias)
    throw new FieldError(field, `'${field}' may hold at most ${limits.logitBias} tokens.`);
  const bias: Record<number, number> = {};
  for (const [id, b] of entries) {
    if (!/^\d+$/.test(id)) throw new FieldError(field, `'${field}' keys must be token ids.`);
    bias[Number(id)] = number(b, field, (x) => x >= -100 && x <= 100, 'numbers in -100..100');
  }
  return { logit_bias: bias };
}

const neutral =
  <K extends keyof GenerationSettings>(key: K, off: GenerationSettings[K]) =>
  (s: GenerationSettings) =>
    s[key] === off ? undefined : s[key];

/** The table: every field that carries a generation setting. */
export const OPENAI_FIELDS: readonly OpenAiField[] = [
  {
    field: 'max_tokens',
    aliases: ['max_completion_tokens'],
    setting: 'max_new_tokens',
    standard: true,
    read: (v, f, l) => ({ max_new_tokens: integer(v, f, 0, l.maxTokens) }),
    write: (s) => s.max_new_tokens,
  },
  {
    field: 'temperature',
    setting: 'temperature',
    standard: true,
    // 0 is greedy; above 0 asks to sample even when the model's config says greedy.
    read: (v, f) => {
      const t = number(v, f, (x) => x >= 0 && x <= 2, 'a number in 0..2');
      return { temperature: t, do_sample: t > 0 };
    },
    write: (s) => (s.do_sample ? s.temperature : 0),
  },
  {
    field: 'top_p',
    setting: 'top_p',
    standard: true,
    read: (v, f) => ({ top_p: number(v, f, unit, 'a number in (0, 1]') }),
    write: neutral('top_p', 1),
  },
  {
    field: 'n',
    setting: 'num_return_sequences',
    standard: true,
    read: (v, f, l) => ({ num_return_sequences: integer(v, f, 1, l.n) }),
    write: neutral('num_return_sequences', 1),
  },
  {
    field: 'stop',
    setting: 'stop',
    standard: true,
    read: stopList,
    write: (s) => (s.stop.length ? s.stop : undefined),
  },
  {
    field: 'seed',
    setting: 'seed',
    standard: true,
    read: (v, f) => ({ seed: integer(v, f, 0, Number.MAX_SAFE_INTEGER) }),
    write: (s) => s.seed,
  },
  {
    field: 'presence_penalty',
    setting: 'presence_penalty',
    standard: true,
    read: (v, f) => ({ presence_penalty: number(v, f, (x) => Math.abs(x) <= 2, 'in -2..2') }),
    write: neutral('presence_penalty', 0),
  },
  {
    field: 'frequency_penalty',
    setting: 'frequency_penalty',
    standard: true,
    read: (v, f) => ({ frequency_penalty: number(v, f, (x) => Math.abs(x) <= 2, 'in -2..2') }),
    write: neutral('frequency_penalty', 0),
  },
  {
    field: 'logit_bias',
    setting: 'logit_bias',
    standard: true,
    read: logitBias,
    write: (s) => (Object.keys(s.logit_bias).length ? s.logit_bias : undefined),
  },
  {
    field: 'top_k',
    setting: 'top_k',
    standard: false,
    // vLLM spells "off" -1 (and older versions 0).
    read: (v, f) => {
      const k = number(v, f, (x) => Number.isInteger(x) && x >= -1, 'an integer >= -1 (-1: off)');
      return { top_k: Math.max(0, k) };
    },
    write: neutral('top_k', 0),
  },
  {
    field: 'min_p',
    setting: 'min_p',
    standard: false,
    read: (v, f) => ({ min_p: number(v, f, (x) => x >= 0 && x <= 1, 'a number in [0, 1]') }),
    write: neutral('min_p', 0),
  },
  {
    field: 'typical_p',
    setting: 'typical_p',
    standard: false,
    read: (v, f) => ({ typical_p: number(v, f, unit, 'a number in (0, 1]') }),
    write: neutral('typical_p', 1),
  },
  {
    field: 'repetition_penalty',
    setting: 'repetition_penalty',
    standard: false,
    read: (v, f) => ({ repetition_penalty: number(v, f, (x) => x > 0, 'a number > 0') }),
    write: neutral('repetition_penalty', 1),
  },
  {
    field: 'min_tokens',
    setting: 'min_new_tokens',
    standard: false,
    read: (v, f, l) => ({ min_new_tokens: integer(v, f, 0, l.maxTokens) }),
    write: neutral('min_new_tokens', 0),
  },
];

/** Reads the setting fields of a request body into a layer; absent and null fields are skipped. */
export function settingsFromFields(
  body: Record<string, unknown>,
  limits: FieldLimits = DEFAULT_FIELD_LIMITS,
): SettingsLayer {
  const layer: SettingsLayer = {};
  for (const row of OPENAI_FIELDS) {
    for (const name of [row.field, ...(row.aliases ?? [])]) {
      const value = body[name];
      if (value !== undefined && value !== null)
        Object.assign(layer, row.read(value, name, limits));
    }
  }
  return layer;
}

/** The request fields for resolved settings: every field whose setting is not neutral. */
export function fieldsFromSettings(settings: GenerationSettings): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const row of OPENAI_FIELDS) {
    const value = row.write(settings);
    if (value !== undefined) body[row.field] = value;
  }
  return body;
}
