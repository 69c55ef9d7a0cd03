/**
 * The generation flags shared by every command that generates text: one kebab-case flag per setting
 * of the settings schema (generation/settings-schema.ts), plus --greedy. Values are parsed by the
 * schema's text parser, so a typo fails with the same one-line UsageError naming the flag as
 * `config set` and `/set` give; cross-field checks stay in resolveSettings.
 */
import { UsageError } from '../../generation/errors.js';
import type { SettingsLayer } from '../../generation/settings.js';
import {
  parseSettingText,
  settingName,
  SETTING_SPECS,
  unescapeText,
} from '../../generation/settings-schema.js';
import type { CommandContext, OptionSpec } from '../command.js';

const LISTS = new Set(['ids', 'id-lists', 'bias', 'strings']);

/** Flag specs for the generation settings, keyed by flag name. */
export const GENERATION_FLAGS: Record<string, OptionSpec> = Object.fromEntries([
  ...SETTING_SPECS.filter((s) => s.flag).map((s): [string, OptionSpec] => [
    settingName(s.key),
    {
      type: s.kind === 'boolean' ? 'boolean' : 'string',
      ...(s.short ? { short: s.short } : {}),
      ...(LISTS.has(s.kind) ? { multiple: true } : {}),
      ...(s.valueName ? { valueName: s.valueName } : {}),
      description: s.description,
    },
  ]),
  [
    'greedy',
    {
      type: 'boolean',
      description: 'Always take the most likely token (or beam search with --num-beams).',
    },
  ],
]);

type FlagValues = CommandContext['values'];

/** Turns `\n`, `\t`, `\r` and `\\` in a --stop value into the characters they name. */
export const unescapeStop = unescapeText;

/** The raw strings of a flag, whether it was given once or repeated. */
function strings(values: FlagValues, flag: string): string[] {
  const v = values[flag];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

/**
 * Builds the flags' settings layer: only flags that were given appear in it, so lower layers (model
 * config, user config) keep their values. A scalar flag given twice uses its last value; list flags
 * accumulate. --do-sample and --greedy set do_sample and exclude each other. Throws UsageError on a
 * bad value.
 */
export function settingsLayerFromFlags(values: FlagValues): SettingsLayer {
  const layer: Record<string, unknown> = {};
  for (const spec of SETTING_SPECS) {
    if (!spec.flag || spec.kind === 'boolean') continue;
    const raws = strings(values, settingName(spec.key));
    if (raws.length > 0) layer[spec.key] = parseSettingText(spec.key, raws, { flags: true });
  }
  const result = layer as SettingsLayer;
  if (values['do-sample'] === true && values.greedy === true)
    throw new UsageError('--do-sample and --greedy cannot be used together');
  if (values['do-sample'] === true) result.do_sample = true;
  if (values.greedy === true) result.do_sample = false;
  // Asking for a temperature above 0 means asking to sample (as ollama and llama.cpp behave), even when
  // the model's generation_config.json says do_sample false; --greedy still wins.
  if (result.do_sample === undefined && result.temperature !== undefined && result.temperature > 0)
    result.do_sample = true;
  if (values['early-stopping'] === true) result.early_stopping = true;
  return result;
}
