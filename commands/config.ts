/**
 * `textgen config`: the user config that sits between the model's defaults and the flags —
 * `config show`, `config path`, `config set KEY VALUE`, `config unset KEY`. KEY is `default-model`, `device`, `endpoint` or a
 * generation flag name (`temperature`, `top-p`, `max-new-tokens`, `stop`, ...), validated as the flag is.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../generation/errors.js';
import {
  baseUrl,
  DEVICES,
  isDevice,
  resolveSettings,
  type DeviceName,
  type SettingsLayer,
} from '../generation/index.js';
import type { Command } from './command.js';
import { GENERATION_FLAGS, settingsLayerFromFlags } from './flags/generation-flags.js';
import {
  readUserConfig,
  setDefaultModel,
  setDevice,
  setEndpoint,
  userConfigPath,
  writeUserSettings,
} from './user-config.js';

/** The settings field(s) a generation flag writes, found by parsing a sample value. */
function fieldsOf(flag: string, value: string): SettingsLayer {
  const spec = GENERATION_FLAGS[flag];
  if (!spec)
    throw new UsageError(
      `Unknown config key '${flag}'.`,
      `Use default-model or a generation flag: ${Object.keys(GENERATION_FLAGS).join(', ')}.`,
    );
  const raw = spec.type === 'boolean' ? value === 'true' : spec.multiple ? [value] : value;
  if (spec.type === 'boolean' && value !== 'true' && value !== 'false')
    throw new UsageError(`${flag} takes true or false, got '${value}'.`);
  if (spec.type === 'boolean' && value === 'false') {
    // Booleans are flags; `false` means "not set here", so the lower layers decide.
    return {};
  }
  return settingsLayerFromFlags({ [flag]: raw });
}

/** The config command. */
export const configCommand: Command = {
  name: 'config',
  summary: 'Show or change the user config (default model, generation settings).',
  usage: 'textgen config [show|path|set KEY VALUE|unset KEY] [--json]',
  options: { json: { type: 'boolean', description: 'Print the config as JSON (show).' } },
  async run(ctx) {
    const [action = 'show', key, ...rest] = ctx.positionals;
    const config = readUserConfig(ctx.env);
    if (action === 'path') {
      ctx.stdout.write(`${userConfigPath(ctx.env)}\n`);
    } else if (action === 'show') {
      if (ctx.values.json)
        ctx.stdout.write(`${JSON.stringify({ path: userConfigPath(ctx.env), ...config })}\n`);
      else {
        ctx.stdout.write(`default-model: ${config.defaultModel ?? '(embedded default)'}\n`);
        ctx.stdout.write(`device: ${config.device ?? 'cpu'}\n`);
        if (config.endpoint) ctx.stdout.write(`endpoint: ${config.endpoint}\n`);
        for (const [k, v] of Object.entries(config.settings ?? {}))
          ctx.stdout.write(`${k}: ${JSON.stringify(v)}\n`);
      }
    } else if (action === 'set' && key && rest.length > 0) {
      const value = rest.join(' ');
      // A folder is stored absolute so the default works from any directory.
      if (key === 'default-model')
        await setDefaultModel(existsSync(value) ? resolve(value) : value, ctx.env);
      else if (key === 'device') await setDevice(deviceValue(value), ctx.env);
      else if (key === 'endpoint') await setEndpoint(baseUrl(value).href, ctx.env);
      else {
        const next = { ...config.settings, ...fieldsOf(key, value) };
        resolveSettings(next);
        await writeUserSettings(next, ctx.env);
      }
    } else if (action === 'unset' && key) {
      if (key === 'default-model') await setDefaultModel(undefined, ctx.env);
      else if (key === 'device') await setDevice(undefined, ctx.env);
      else if (key === 'endpoint') await setEndpoint(undefined, ctx.env);
      else {
        const next: Record<string, unknown> = { ...config.settings };
        for (const field of Object.keys(fieldsOf(key, sampleValue(key)))) delete next[field];
        await writeUserSettings(next as SettingsLayer, ctx.env);
      }
    } else {
      throw new UsageError(`Usage: ${configCommand.usage}`);
    }
    return 0;
  },
};

/** A valid value for a flag, used to learn which settings field it writes. */
function sampleValue(flag: string): string {
  const spec = GENERATION_FLAGS[flag];
  if (spec?.type === 'boolean') return 'true';
  if (flag === 'logit-bias') return '0:0';
  if (flag === 'stop') return 'x';
  if (flag === 'suppress-tokens' || flag === 'bad-words-ids') return '0';
  return '1';
}

function deviceValue(value: string): DeviceName {
  if (isDevice(value)) return value;
  throw new UsageError(`device must be ${DEVICES.join(', ')}, got '${value}'.`);
}
