/**
 * The generation flags shared by every command that generates text (kebab-case, one per setting),
 * and the parser that turns their raw values into a settings layer. Values are validated here so a
 * typo fails with a one-line UsageError naming the flag; cross-field checks stay in resolveSettings.
 */
import { UsageError } from '../../generation/errors.js';
import type { SettingsLayer } from '../../generation/settings.js';
import type { CommandContext, OptionSpec } from '../command.js';

/** Flag specs for the generation settings, keyed by flag name. */
export const GENERATION_FLAGS: Record<string, OptionSpec> = {
  'max-new-tokens': {
    type: 'string',
    short: 'n',
    valueName: 'N',
    description: 'Generate at most N new tokens.',
  },
  'min-new-tokens': {
    type: 'string',
    valueName: 'N',
    description: 'Suppress end-of-sequence until N tokens were generated.',
  },
  temperature: {
    type: 'string',
    valueName: 'T',
    description: 'Sampling temperature; 0 means greedy.',
  },
  'top-k': {
    type: 'string',
    valueName: 'K',
    description: 'Sample only from the K most likely tokens (0: off).',
  },
  'top-p': {
    type: 'string',
    valueName: 'P',
    description: 'Nucleus sampling: keep the smallest set of tokens with mass >= P.',
  },
  'min-p': {
    type: 'string',
    valueName: 'P',
    description: 'Drop tokens less likely than P x the most likely one.',
  },
  'typical-p': { type: 'string', valueName: 'P', description: 'Locally typical sampling mass.' },
  'repetition-penalty': {
    type: 'string',
    valueName: 'X',
    description: 'Penalise tokens already in the prompt or output (1: off).',
  },
  'presence-penalty': {
    type: 'string',
    valueName: 'X',
    description: 'Subtract X from tokens already generated (OpenAI semantics).',
  },
  'frequency-penalty': {
    type: 'string',
    valueName: 'X',
    description: 'Subtract X per occurrence of tokens already generated.',
  },
  'no-repeat-ngram-size': {
    type: 'string',
    valueName: 'N',
    description: 'Never repeat an N-gram.',
  },
  'suppress-tokens': {
    type: 'string',
    multiple: true,
    valueName: 'IDS',
    description: 'Never generate these token ids (comma list, repeatable).',
  },
  'bad-words-ids': {
    type: 'string',
    multiple: true,
    valueName: 'IDS',
    description: 'Never generate this token-id sequence (comma list; repeatable).',
  },
  'logit-bias': {
    type: 'string',
    multiple: true,
    valueName: 'ID:BIAS',
    description: "Add BIAS to token ID's logit (repeatable, or comma list).",
  },
  'do-sample': { type: 'boolean', description: 'Sample the next token (with the settings above).' },
  greedy: {
    type: 'boolean',
    description: 'Always take the most likely token (or beam search with --num-beams).',
  },
  'num-beams': {
    type: 'string',
    valueName: 'N',
    description: 'Beam search with N beams (1: off).',
  },
  'length-penalty': {
    type: 'string',
    valueName: 'X',
    description: 'Beam score = log-prob / length^X.',
  },
  'early-stopping': {
    type: 'boolean',
    description: 'Stop beam search once N beams have finished.',
  },
  'num-return-sequences': {
    type: 'string',
    valueName: 'N',
    description: 'Return N sequences per prompt.',
  },
  stop: {
    type: 'string',
    multiple: true,
    valueName: 'TEXT',
    description: 'Stop before TEXT (repeatable; \\n \\t \\r \\\\ escapes allowed).',
  },
  seed: {
    type: 'string',
    valueName: 'N',
    description: 'Seed for sampling: the same seed and settings give the same text.',
  },
};

type FlagValues = CommandContext['values'];

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^\+?\d+$/;

function fail(flag: string, expected: string, raw: string): never {
  throw new UsageError(`--${flag} must be ${expected}, got '${raw}'`);
}

/** Parses a plain decimal number (no hex, no empty string, no Infinity) and checks it with `ok`. */
function parseNumber(
  flag: string,
  raw: string,
  expected: string,
  ok: (x: number) => boolean = () => true,
): number {
  const x = Number(raw.trim());
  if (!DECIMAL.test(raw.trim()) || !Number.isFinite(x) || !ok(x)) fail(flag, expected, raw);
  return x;
}

/** Parses a safe integer >= min. */
function parseInteger(flag: string, raw: string, min: number): number {
  const expected = min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
  const x = Number(raw.trim());
  if (!INTEGER.test(raw.trim()) || !Number.isSafeInteger(x) || x < min) fail(flag, expected, raw);
  return x;
}

/** The raw strings of a flag, whether it was given once or repeated. */
function strings(values: FlagValues, flag: string): string[] {
  const v = values[flag];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

/** A comma-separated list of token ids. */
function parseIdList(flag: string, raw: string): number[] {
  const parts = raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) fail(flag, 'a comma-separated list of token ids', raw);
  return parts.map((p) => {
    if (!INTEGER.test(p) || !Number.isSafeInteger(Number(p)))
      fail(flag, 'a comma-separated list of token ids', raw);
    return Number(p);
  });
}

/** `ID:BIAS` pairs, comma-separated or repeated. */
function parseLogitBias(raws: string[]): Record<number, number> {
  const bias: Record<number, number> = {};
  for (const raw of raws) {
    for (const pair of raw.split(',')) {
      const m = /^\s*(\d+)\s*:\s*(\S+)\s*$/.exec(pair);
      const value = m ? Number(m[2]) : NaN;
      if (
        !m ||
        !DECIMAL.test(m[2]) ||
        !Number.isFinite(value) ||
        !Number.isSafeInteger(Number(m[1]))
      ) {
        fail('logit-bias', "ID:BIAS (a token id, a colon and a number, e.g. '50256:-100')", pair);
      }
      bias[Number(m[1])] = value;
    }
  }
  return bias;
}

/** Turns `\n`, `\t`, `\r` and `\\` in a --stop value into the characters they name; other text is literal. */
export function unescapeStop(raw: string): string {
  return raw.replace(
    /\\([ntr\\])/g,
    (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c] ?? c,
  );
}

type Parser = (raw: string) => SettingsLayer;

/** One parser per single-valued flag; each returns the partial layer it sets. */
const scalarFlags: Record<string, Parser> = {
  'max-new-tokens': (r) => ({ max_new_tokens: parseInteger('max-new-tokens', r, 0) }),
  'min-new-tokens': (r) => ({ min_new_tokens: parseInteger('min-new-tokens', r, 0) }),
  temperature: (r) => ({
    temperature: parseNumber('temperature', r, 'a number >= 0', (x) => x >= 0),
  }),
  'top-k': (r) => ({ top_k: parseInteger('top-k', r, 0) }),
  'top-p': (r) => ({
    top_p: parseNumber('top-p', r, 'a number in (0, 1]', (x) => x > 0 && x <= 1),
  }),
  'min-p': (r) => ({
    min_p: parseNumber('min-p', r, 'a number in [0, 1]', (x) => x >= 0 && x <= 1),
  }),
  'typical-p': (r) => ({
    typical_p: parseNumber('typical-p', r, 'a number in (0, 1]', (x) => x > 0 && x <= 1),
  }),
  'repetition-penalty': (r) => ({
    repetition_penalty: parseNumber('repetition-penalty', r, 'a number > 0', (x) => x > 0),
  }),
  'presence-penalty': (r) => ({ presence_penalty: parseNumber('presence-penalty', r, 'a number') }),
  'frequency-penalty': (r) => ({
    frequency_penalty: parseNumber('frequency-penalty', r, 'a number'),
  }),
  'no-repeat-ngram-size': (r) => ({
    no_repeat_ngram_size: parseInteger('no-repeat-ngram-size', r, 0),
  }),
  'num-beams': (r) => ({ num_beams: parseInteger('num-beams', r, 1) }),
  'length-penalty': (r) => ({ length_penalty: parseNumber('length-penalty', r, 'a number') }),
  'num-return-sequences': (r) => ({
    num_return_sequences: parseInteger('num-return-sequences', r, 1),
  }),
  seed: (r) => ({ seed: parseInteger('seed', r, 0) }),
};

/**
 * Builds the flags' settings layer: only flags that were given appear in it, so lower layers (model
 * config, user config) keep their values. A scalar flag given twice uses its last value.
 * --do-sample and --greedy set do_sample and exclude each other. Throws UsageError on a bad value.
 */
export function settingsLayerFromFlags(values: FlagValues): SettingsLayer {
  const layer: SettingsLayer = {};
  for (const [flag, parse] of Object.entries(scalarFlags)) {
    const raws = strings(values, flag);
    if (raws.length > 0) Object.assign(layer, parse(raws[raws.length - 1]));
  }
  const suppress = strings(values, 'suppress-tokens');
  if (suppress.length > 0)
    layer.suppress_tokens = suppress.flatMap((r) => parseIdList('suppress-tokens', r));
  const badWords = strings(values, 'bad-words-ids');
  if (badWords.length > 0)
    layer.bad_words_ids = badWords.map((r) => parseIdList('bad-words-ids', r));
  const bias = strings(values, 'logit-bias');
  if (bias.length > 0) layer.logit_bias = parseLogitBias(bias);
  const stops = strings(values, 'stop');
  if (stops.length > 0) {
    layer.stop = stops.map(unescapeStop);
    if (layer.stop.some((s) => s.length === 0)) throw new UsageError('--stop must not be empty');
  }
  if (values['do-sample'] === true && values.greedy === true)
    throw new UsageError('--do-sample and --greedy cannot be used together');
  if (values['do-sample'] === true) layer.do_sample = true;
  if (values.greedy === true) layer.do_sample = false;
  // Asking for a temperature above 0 means asking to sample (as ollama and llama.cpp behave), even when
  // the model's generation_config.json says do_sample false; --greedy still wins.
  if (layer.do_sample === undefined && layer.temperature !== undefined && layer.temperature > 0)
    layer.do_sample = true;
  if (values['early-stopping'] === true) layer.early_stopping = true;
  return layer;
}
