/**
 * The one settings schema: every generation setting's name, type, range and help, and the two
 * parsers every source goes through. Text (flags, `config set`, `/set` in the chat) is parsed by
 * {@link parseSettingText}; JSON values (the config file, `--jsonl` lines, session files) by
 * {@link parseSettingJson}. Errors are one-line UsageErrors that name the source and the key. HTTP
 * bodies use OpenAI's field names and ranges: their one table is generation/remote/openai-fields.ts
 * (read by `textgen serve`, written by the `--endpoint` client), keyed by these settings.
 *
 * Names: users type and read kebab-case (`top-p`); JSON keys are snake_case, Hugging Face's names
 * (`top_p`), in files and in every `--json` output. Both spellings are accepted on input
 * everywhere ({@link settingKey}).
 */
import { UsageError } from './errors.js';
import type { GenerationSettings } from './settings.js';

/** The most logprob alternatives a caller may ask for (as OpenAI's top_logprobs). */
export const MAX_LOGPROBS = 20;
/** Upper bound of token counts (lengths, top-k, n-gram size): far above any context, far below overflow. */
export const MAX_TOKENS = 1 << 24;
/** The most beams, and the most sequences per prompt: each is a row of logits and KV cache. */
export const MAX_ROWS = 256;
/** The most entries in a list setting (suppressed ids, bad words, biases, stop strings). */
export const MAX_LIST = 65536;

/** How a setting's value is written. */
export type SettingKind = 'int' | 'number' | 'boolean' | 'ids' | 'id-lists' | 'bias' | 'strings';

/** One setting of {@link GenerationSettings}. */
export interface SettingSpec {
  key: keyof GenerationSettings;
  kind: SettingKind;
  /** Smallest allowed value (numbers); exclusive when `above` is set. */
  min?: number;
  /** The value must be greater than `min` (top_p > 0). */
  above?: boolean;
  /** Largest allowed value (numbers). */
  max?: number;
  /** One line for help texts. */
  description: string;
  /** Offered as a generation flag (`--KEY`); false for model-level ids and generate-only flags. */
  flag: boolean;
  valueName?: string;
  short?: string;
}

const ID_MAX = 2 ** 31 - 1;

type Entry = Omit<SettingSpec, 'key'>;

const spec = (kind: SettingKind, description: string, more: Partial<Entry> = {}): Entry => ({
  kind,
  description,
  flag: true,
  ...more,
});

// Keyed by every field of GenerationSettings (optional ones too), so a new setting cannot be
// forgotten here: the type check fails until it has an entry.
const TABLE: { [K in keyof Required<GenerationSettings>]: Entry } = {
  max_new_tokens: spec('int', 'Generate at most N new tokens.', {
    min: 0,
    max: MAX_TOKENS,
    short: 'n',
    valueName: 'N',
  }),
  max_length: spec('int', 'Total length cap, prompt included (max-new-tokens wins over it).', {
    min: 0,
    max: MAX_TOKENS,
    valueName: 'N',
  }),
  min_new_tokens: spec('int', 'Suppress end-of-sequence until N tokens were generated.', {
    min: 0,
    max: MAX_TOKENS,
    valueName: 'N',
  }),
  min_length: spec(
    'int',
    'Suppress end-of-sequence until the total length (prompt included) is N.',
    {
      min: 0,
      max: MAX_TOKENS,
      valueName: 'N',
    },
  ),
  temperature: spec('number', 'Sampling temperature; 0 means greedy.', {
    min: 0,
    valueName: 'T',
  }),
  top_k: spec('int', 'Sample only from the K most likely tokens (0: off).', {
    min: 0,
    max: MAX_TOKENS,
    valueName: 'K',
  }),
  top_p: spec('number', 'Nucleus sampling: keep the smallest set of tokens with mass >= P.', {
    min: 0,
    above: true,
    max: 1,
    valueName: 'P',
  }),
  min_p: spec('number', 'Drop tokens less likely than P x the most likely one.', {
    min: 0,
    max: 1,
    valueName: 'P',
  }),
  typical_p: spec('number', 'Locally typical sampling mass.', {
    min: 0,
    above: true,
    max: 1,
    valueName: 'P',
  }),
  repetition_penalty: spec('number', 'Penalise tokens already in the prompt or output (1: off).', {
    min: 0,
    above: true,
    valueName: 'X',
  }),
  presence_penalty: spec('number', 'Subtract X from tokens already generated (OpenAI semantics).', {
    valueName: 'X',
  }),
  frequency_penalty: spec('number', 'Subtract X per occurrence of tokens already generated.', {
    valueName: 'X',
  }),
  no_repeat_ngram_size: spec('int', 'Never repeat an N-gram.', {
    min: 0,
    max: MAX_TOKENS,
    valueName: 'N',
  }),
  suppress_tokens: spec('ids', 'Never generate these token ids (comma list, repeatable).', {
    valueName: 'IDS',
  }),
  bad_words_ids: spec(
    'id-lists',
    'Never generate this token-id sequence (comma list; repeatable).',
    {
      valueName: 'IDS',
    },
  ),
  logit_bias: spec('bias', "Add BIAS to token ID's logit (repeatable, or comma list).", {
    valueName: 'ID:BIAS',
  }),
  do_sample: spec('boolean', 'Sample the next token (with the settings above).'),
  num_beams: spec('int', 'Beam search with N beams (1: off).', {
    min: 1,
    max: MAX_ROWS,
    valueName: 'N',
  }),
  length_penalty: spec('number', 'Beam score = log-prob / length^X.', { valueName: 'X' }),
  early_stopping: spec('boolean', 'Stop beam search once N beams have finished.'),
  num_return_sequences: spec('int', 'Return N sequences per prompt.', {
    min: 1,
    max: MAX_ROWS,
    valueName: 'N',
  }),
  stop: spec('strings', 'Stop before TEXT (repeatable; \\n \\t \\r \\\\ escapes allowed).', {
    valueName: 'TEXT',
  }),
  logprobs: spec('int', "Report each token's log-probability and N alternatives.", {
    min: 0,
    max: MAX_LOGPROBS,
    flag: false,
    valueName: 'N',
  }),
  seed: spec('int', 'Seed for sampling: the same seed and settings give the same text.', {
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    valueName: 'N',
  }),
  eos_token_id: spec('ids', 'End-of-sequence token ids (from the model unless given).', {
    flag: false,
  }),
  pad_token_id: spec('int', 'Padding token id (from the model unless given).', {
    min: 0,
    max: ID_MAX,
    flag: false,
  }),
  decoder_start_token_id: spec('int', 'First decoder token of text-to-text models.', {
    min: 0,
    max: ID_MAX,
    flag: false,
  }),
  forced_bos_token_id: spec('int', 'Token forced as the first generated token.', {
    min: 0,
    max: ID_MAX,
    flag: false,
  }),
  forced_eos_token_id: spec('ids', 'Token forced at the last position allowed by the length.', {
    flag: false,
  }),
};

/** Every setting, in the order help and `/show` list them. */
export const SETTING_SPECS: readonly SettingSpec[] = Object.entries(TABLE).map(([key, entry]) => ({
  key: key as keyof GenerationSettings,
  ...entry,
}));

const BY_KEY = new Map(SETTING_SPECS.map((s) => [s.key as string, s]));

/** The kebab-case name users type and read, e.g. `top-p`. */
export function settingName(key: string): string {
  return key.replace(/_/g, '-');
}

/**
 * The settings key for a name in either spelling (`top-p`, `top_p`); undefined when it is not a
 * setting. `greedy` is not a key: it is the `do-sample false` flag and handled by its callers.
 */
export function settingKey(name: string): keyof GenerationSettings | undefined {
  return BY_KEY.get(name.replace(/-/g, '_'))?.key;
}

/** The spec of a key. */
export function settingSpec(key: keyof GenerationSettings): SettingSpec {
  return BY_KEY.get(key)!;
}

/**
 * Where a value came from, for messages: `flags` shows keys as `--top-p`; otherwise `where` (a
 * config file, a `--jsonl` line, a session, an HTTP body, `/set`) prefixes the message.
 */
export interface SettingSource {
  where?: string;
  flags?: boolean;
  /** The name the value arrived under when it is not the setting's own (an HTTP field, e.g. `n`). */
  label?: string;
}

/** The key as this source shows it. */
export function shownName(key: string, source: SettingSource): string {
  if (source.label) return source.label;
  return source.flags ? `--${settingName(key)}` : settingName(key);
}

function fail(key: string, source: SettingSource, expected: string, got: string): never {
  const prefix = source.where ? `${source.where}: ` : '';
  throw new UsageError(`${prefix}${shownName(key, source)} must be ${expected}, got ${got}`);
}

/** What a number must be, e.g. `a number in (0, 1]`, `an integer in 1..256`. */
export function expectedText(s: SettingSpec): string {
  const { min, max, above } = s;
  if (s.kind === 'int') {
    if (max !== undefined && max < Number.MAX_SAFE_INTEGER)
      return `an integer in ${min ?? 0}..${max}`;
    return min === 0 || min === undefined ? 'a non-negative integer' : `an integer >= ${min}`;
  }
  if (min !== undefined && max !== undefined)
    return `a number in ${above ? '(' : '['}${min}, ${max}]`;
  if (min !== undefined) return `a number ${above ? '>' : '>='} ${min}`;
  return 'a number';
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^\+?\d+$/;

function inRange(s: SettingSpec, x: number): boolean {
  if (!Number.isFinite(x)) return false;
  if (s.kind === 'int' && !Number.isSafeInteger(x)) return false;
  if (s.min !== undefined && (s.above ? x <= s.min : x < s.min)) return false;
  return s.max === undefined || x <= s.max;
}

const ID_LIST = 'a comma-separated list of token ids';
const BIAS = "ID:BIAS (a token id, a colon and a number, e.g. '50256:-100')";

function isId(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= ID_MAX;
}

function textIds(key: string, raw: string, source: SettingSource): number[] {
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const ids = parts.map(Number);
  if (parts.length === 0 || !parts.every((p) => INTEGER.test(p)) || !ids.every(isId))
    fail(key, source, ID_LIST, `'${raw}'`);
  return ids;
}

/** Turns `\n`, `\t`, `\r` and `\\` into the characters they name; other text is literal. */
export function unescapeText(raw: string): string {
  return raw.replace(
    /\\([ntr\\])/g,
    (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c,
  );
}

/** A JSON value if `raw` looks like one (an array or object) and parses; undefined otherwise. */
function jsonish(raw: string): unknown {
  const t = raw.trim();
  if (!t.startsWith('[') && !t.startsWith('{')) return undefined;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Parses the text form of one setting. `raws` holds every value given (a repeated flag); scalars
 * take the last. Lists accept their flag syntax (`1,2`; `ID:BIAS,...`; one stop string per value with
 * `\n` escapes) or, in one value, the JSON form (`[[5,6],[7]]`, `{"13": -5}`, `["a","b"]`).
 */
export function parseSettingText(
  key: keyof GenerationSettings,
  raws: string[],
  source: SettingSource,
): unknown {
  const s = settingSpec(key);
  const last = raws[raws.length - 1] ?? '';
  const json = raws.length === 1 ? jsonish(last) : undefined;
  switch (s.kind) {
    case 'int':
    case 'number': {
      const t = last.trim();
      const x = Number(t);
      const ok = s.kind === 'int' ? INTEGER.test(t) : DECIMAL.test(t);
      if (!ok || !inRange(s, x)) fail(key, source, expectedText(s), `'${last}'`);
      return x;
    }
    case 'boolean':
      if (last !== 'true' && last !== 'false') fail(key, source, 'true or false', `'${last}'`);
      return last === 'true';
    case 'ids':
      return json !== undefined
        ? parseSettingJson(key, json, source)
        : raws.flatMap((r) => textIds(key, r, source));
    case 'id-lists':
      if (json !== undefined) return parseSettingJson(key, json, source);
      return raws.flatMap((r) => r.split(';').map((part) => textIds(key, part, source)));
    case 'bias': {
      if (json !== undefined) return parseSettingJson(key, json, source);
      const bias: Record<number, number> = {};
      for (const pair of raws.flatMap((r) => r.split(','))) {
        const m = /^\s*(\d+)\s*:\s*(\S+)\s*$/.exec(pair);
        if (!m || !DECIMAL.test(m[2]) || !Number.isFinite(Number(m[2])) || !isId(Number(m[1])))
          fail(key, source, BIAS, `'${pair}'`);
        bias[Number(m[1])] = Number(m[2]);
      }
      return checkSize(key, source, bias);
    }
    case 'strings': {
      if (Array.isArray(json)) return parseSettingJson(key, json, source);
      const stops = raws.map(unescapeText);
      if (stops.some((x) => x.length === 0)) {
        const prefix = source.where ? `${source.where}: ` : '';
        throw new UsageError(`${prefix}${shownName(key, source)} must not be empty`);
      }
      return checkSize(key, source, stops);
    }
  }
}

/** A JSON value shown in an error: short, one line. */
function shown(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function checkSize<T extends object>(key: string, source: SettingSource, value: T): T {
  const n = Array.isArray(value) ? value.length : Object.keys(value).length;
  if (n > MAX_LIST) fail(key, source, `at most ${MAX_LIST} entries`, `${n}`);
  return value;
}

/**
 * Parses the JSON form of one setting (config file, `--jsonl`, session files). Types are
 * strict — `"0.5"` is not a number — except the forms Hugging Face and OpenAI accept: a single id
 * for an id list, a single string for `stop`.
 */
export function parseSettingJson(
  key: keyof GenerationSettings,
  value: unknown,
  source: SettingSource,
  max?: number,
): unknown {
  const spec = settingSpec(key);
  // A caller's stricter cap (a server's per-request limit) narrows the schema's range.
  const s = max === undefined ? spec : { ...spec, max: Math.min(spec.max ?? Infinity, max) };
  const got = shown(value);
  switch (s.kind) {
    case 'int':
    case 'number':
      if (typeof value !== 'number' || !inRange(s, value)) fail(key, source, expectedText(s), got);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') fail(key, source, 'true or false', got);
      return value;
    case 'ids': {
      const ids = typeof value === 'number' ? [value] : value;
      if (!Array.isArray(ids) || !ids.every(isId)) fail(key, source, 'a list of token ids', got);
      return checkSize(key, source, ids as number[]);
    }
    case 'id-lists':
      if (
        !Array.isArray(value) ||
        !value.every((l) => Array.isArray(l) && l.length > 0 && l.every(isId))
      )
        fail(key, source, 'a list of non-empty token-id lists, e.g. [[5,6],[7]]', got);
      return checkSize(key, source, value as number[][]);
    case 'bias': {
      const ok =
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        Object.entries(value).every(
          ([id, b]) =>
            /^\d+$/.test(id) && isId(Number(id)) && typeof b === 'number' && Number.isFinite(b),
        );
      if (!ok) fail(key, source, 'an object of token id to bias, e.g. {"13": -5}', got);
      const bias: Record<number, number> = {};
      for (const [id, b] of Object.entries(value as object)) bias[Number(id)] = b as number;
      return checkSize(key, source, bias);
    }
    case 'strings': {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x.length > 0))
        fail(key, source, 'a non-empty string or a list of them', got);
      return checkSize(key, source, list as string[]);
    }
  }
}

/** Options of {@link settingsFromJson}. */
export interface FromJsonOptions {
  /** Keys that are not settings: 'error' (default), or 'ignore' (model configs carry many others). */
  unknown?: 'error' | 'ignore';
  /** Keys the caller handles itself (e.g. `prompt` in a `--jsonl` line). */
  skip?: readonly string[];
  /** Bad values: 'error' (default), or 'ignore' (a model's malformed field must not fail every run). */
  invalid?: 'error' | 'ignore';
}

/**
 * A settings layer from a JSON object in either spelling: every key checked, every value typed.
 * `null` means "not set here", as in Hugging Face configs and OpenAI requests.
 */
export function settingsFromJson(
  object: unknown,
  source: SettingSource,
  options: FromJsonOptions = {},
): Partial<GenerationSettings> {
  const prefix = source.where ? `${source.where}: ` : '';
  if (!object || typeof object !== 'object' || Array.isArray(object))
    throw new UsageError(`${prefix}settings must be a JSON object, got ${shown(object)}`);
  const layer: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(object)) {
    if (options.skip?.includes(name)) continue;
    const key = settingKey(name);
    if (!key) {
      if (options.unknown === 'ignore') continue;
      throw new UsageError(
        `${prefix}unknown setting '${name}'`,
        `Settings are: ${SETTING_SPECS.map((s) => settingName(s.key)).join(', ')}.`,
      );
    }
    if (value === null || value === undefined) continue;
    try {
      layer[key] = parseSettingJson(key, value, source);
    } catch (error) {
      if (options.invalid !== 'ignore') throw error;
    }
  }
  return layer as Partial<GenerationSettings>;
}

/** A layer as JSON for files (snake_case keys, Hugging Face's names), dropping unset keys. */
export function settingsToJson(layer: Partial<GenerationSettings>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined));
}

/** A value the way the text parsers accept it back (`/show`, `config show`, `config get`). */
export function formatSettingValue(key: keyof GenerationSettings, value: unknown): string {
  if (value === undefined) return '(model default)';
  const s = settingSpec(key);
  if (Array.isArray(value) && value.length === 0) return '[]';
  if (s.kind === 'ids' && Array.isArray(value)) return value.join(',');
  if (s.kind === 'bias' && value && typeof value === 'object')
    return Object.entries(value)
      .map(([id, b]) => `${id}:${b}`)
      .join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Parses `NAME VALUE` as typed in `config set` and `/set`: NAME in either spelling, or `greedy`
 * (the `--greedy` flag: `greedy true` means do-sample false). Unknown names are a UsageError that
 * lists the settings.
 */
export function parseNamedSetting(
  name: string,
  raw: string,
  source: SettingSource,
): { key: keyof GenerationSettings; value: unknown } {
  if (name === 'greedy')
    return { key: 'do_sample', value: !(parseSettingText('do_sample', [raw], source) as boolean) };
  const key = settingKey(name);
  if (!key) {
    const prefix = source.where ? `${source.where}: ` : '';
    throw new UsageError(
      `${prefix}unknown setting '${name}'`,
      `Settings are: ${SETTING_SPECS.map((s) => settingName(s.key)).join(', ')}.`,
    );
  }
  return { key, value: parseSettingText(key, [raw], source) };
}
