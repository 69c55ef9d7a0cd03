/**
 * `textgen config`: the user config that sits between the model's defaults and the flags —
 * `config show`, `config path`, `config get KEY`, `config set KEY VALUE`, `config unset KEY`. KEY is
 * `default-model`, `device`, `endpoint`, `auto-pull` or a generation setting in either spelling (`top-p`, `top_p`), whose
 * VALUE is parsed by the one settings schema, exactly as the flag's value is.
 */
import { existsSync } from 'node:fs';
import { TextgenError, UsageError } from '../generation/errors.js';
import { baseUrl, resolveSettings, type SettingsLayer } from '../generation/index.js';
import {
  formatSettingValue,
  parseNamedSetting,
  settingKey,
  settingName,
  settingsFromJson,
  SETTING_SPECS,
} from '../generation/settings-schema.js';
import { resolveModel } from '../models-cache/resolve.js';
import type { Command, CommandContext } from './command.js';
import {
  configKey,
  CONFIG_DEVICES,
  rawSettings,
  readRawConfig,
  readUserConfig,
  setAutoPull,
  setDefaultModel,
  setDevice,
  setEndpoint,
  setUserSetting,
  updateUserConfig,
  userConfigPath,
  type ConfigDevice,
  type UserConfig,
} from './user-config.js';

const KEYS_HINT = `Keys: default-model, device, endpoint, auto-pull, and the settings ${SETTING_SPECS.map((s) => settingName(s.key)).join(', ')}.`;

/** The config command. */
export const configCommand: Command = {
  name: 'config',
  summary: 'Show or change the user config (default model, device, generation settings).',
  usage: 'textgen config [show|path|get KEY|set KEY VALUE|unset KEY] [--json]',
  options: { json: { type: 'boolean', description: 'Print the config as JSON (show).' } },
  async run(ctx) {
    const [action = 'show', key, ...rest] = ctx.positionals;
    if (action === 'path' && !key) ctx.stdout.write(`${userConfigPath(ctx.env)}\n`);
    else if (action === 'show' && !key) show(ctx, readUserConfig(ctx.env));
    else if (action === 'get' && key && rest.length === 0) get(ctx, key);
    else if (action === 'set' && key && rest.length > 0) await set(ctx, key, rest.join(' '));
    else if (action === 'unset' && key && rest.length === 0) await unset(ctx, key);
    else throw new UsageError(`Usage: ${configCommand.usage}`, KEYS_HINT);
    return 0;
  },
};

/** Kebab-case lines for people; snake_case JSON (as the file) with --json. */
function show(ctx: CommandContext, config: UserConfig): void {
  if (ctx.values.json) {
    const out = {
      path: userConfigPath(ctx.env),
      default_model: config.defaultModel ?? null,
      last_model: config.lastModel ?? null,
      device: config.device ?? null,
      endpoint: config.endpoint ?? null,
      auto_pull: config.autoPull ?? false,
      settings: config.settings ?? {},
    };
    ctx.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  ctx.stdout.write(`default-model: ${config.defaultModel ?? '(embedded default)'}\n`);
  ctx.stdout.write(`device: ${config.device ?? 'cpu'}\n`);
  if (config.endpoint) ctx.stdout.write(`endpoint: ${config.endpoint}\n`);
  ctx.stdout.write(`auto-pull: ${config.autoPull ?? false}\n`);
  for (const [k, v] of Object.entries(config.settings ?? {})) {
    const key = settingKey(k)!;
    ctx.stdout.write(`${settingName(key)}: ${formatSettingValue(key, v)}\n`);
  }
}

function unknownKey(name: string): UsageError {
  return new UsageError(`Unknown config key '${name}'.`, KEYS_HINT);
}

/** Prints one value as `config set` accepts it; a key that is not set is an error (exit 1). */
function get(ctx: CommandContext, name: string): void {
  const config = readUserConfig(ctx.env);
  const top = configKey(name);
  let value: string | undefined;
  if (top === 'default_model') value = config.defaultModel;
  else if (top === 'last_model') value = config.lastModel;
  else if (top === 'device') value = config.device;
  else if (top === 'endpoint') value = config.endpoint;
  else if (top === 'auto_pull')
    value = config.autoPull === undefined ? undefined : String(config.autoPull);
  else {
    const key = settingKey(name === 'greedy' ? 'do_sample' : name);
    if (!key) throw unknownKey(name);
    const v = config.settings?.[key];
    value = v === undefined ? undefined : formatSettingValue(key, v);
  }
  if (value === undefined)
    throw new TextgenError(`${name} is not set in the user config.`, {
      hint: `Set it with \`textgen config set ${name} VALUE\`.`,
    });
  ctx.stdout.write(`${value}\n`);
}

async function set(ctx: CommandContext, name: string, value: string): Promise<void> {
  const top = configKey(name);
  if (top === 'default_model') return setDefaultModel(checkedModel(value, ctx.env), ctx.env);
  if (top === 'device') return setDevice(deviceValue(value), ctx.env);
  if (top === 'endpoint') return setEndpoint(baseUrl(value).href, ctx.env);
  if (top === 'auto_pull') return setAutoPull(booleanValue(name, value), ctx.env);
  if (top) throw new UsageError(`${name} is kept by textgen itself and cannot be set.`, KEYS_HINT);
  const parsed = parseNamedSetting(name, value, { where: `config set ${name}` });
  // The new value must combine with the file's other valid settings (e.g. num-return-sequences with
  // num-beams); values that are already bad do not block the change that may repair them.
  const others = validEntries(rawSettings(readRawConfig(ctx.env)));
  resolveSettings({ ...others, [parsed.key]: parsed.value });
  await setUserSetting(parsed.key, parsed.value, ctx.env);
}

async function unset(ctx: CommandContext, name: string): Promise<void> {
  const top = configKey(name);
  if (top === 'default_model') return setDefaultModel(undefined, ctx.env);
  if (top === 'device') return setDevice(undefined, ctx.env);
  if (top === 'endpoint') return setEndpoint(undefined, ctx.env);
  if (top === 'auto_pull') return setAutoPull(undefined, ctx.env);
  if (top) return updateUserConfig(ctx.env, (raw) => delete raw[name]);
  const key = settingKey(name === 'greedy' ? 'do_sample' : name);
  const settings = rawSettings(readRawConfig(ctx.env));
  // A key the schema does not know is removable too, if the file has it (a typo written by hand).
  if (!key && !(name in settings)) throw unknownKey(name);
  await setUserSetting(key ?? name, undefined, ctx.env);
}

/** The settings entries of the raw file that are valid on their own. */
function validEntries(raw: Record<string, unknown>): SettingsLayer {
  return settingsFromJson(raw, {}, { unknown: 'ignore', invalid: 'ignore' });
}

/**
 * The default model must resolve now (a folder, a cached `org/name[@rev]`, `local/NAME`, or
 * `default`), or every later command would fail; a folder is stored absolute so it works anywhere.
 */
function checkedModel(value: string, env: NodeJS.ProcessEnv): string | undefined {
  // `default` names the built-in model, which is what an unset default-model means.
  if (value === 'default') return undefined;
  const resolved = resolveModel(value, { env });
  return resolved.revision === undefined && existsSync(resolved.dir) ? resolved.dir : value;
}

function booleanValue(name: string, value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`${name} must be true or false, got '${value}'.`);
}

function deviceValue(value: string): ConfigDevice {
  if (CONFIG_DEVICES.includes(value as ConfigDevice)) return value as ConfigDevice;
  throw new UsageError(`device must be ${CONFIG_DEVICES.join(', ')}, got '${value}'.`);
}
