/**
 * The user's config file: the default model, the last model picked in the chat, the device, and a
 * layer of generation settings. It lives in the platform config folder (~/.config/textgen/config.json
 * on Linux); TEXTGEN_CONFIG_DIR points it elsewhere (tests). ui/ never imports this: the chat command
 * passes what the app needs as props.
 *
 * The file is JSON with snake_case keys, like every JSON textgen writes:
 * `{"default_model": ..., "last_model": ..., "device": ..., "endpoint": ..., "auto_pull": true,
 * "settings": {"top_p": 0.9}}` (camelCase
 * and kebab-case keys written by hand or by older versions are read too, and normalised on the next
 * write). Reads validate every value through the settings schema, so a wrong type is one line naming
 * the file and the key. Writes are a locked read-modify-write of the raw JSON, written to a temporary
 * file and renamed: concurrent `config set`s never lose updates, a crash never leaves half a file,
 * and `config set`/`config unset` still work on a file whose other values are bad (so the tool can
 * repair what it reports).
 *
 * Why not the `conf` package (it was used for writes only): importing it installs process-wide
 * SIGINT/SIGTERM hooks (atomically → when-exit) that re-raise the signal, which would end `generate`
 * with the model worker mid-run on the first Ctrl-C; its writes are atomic but not locked (concurrent
 * updates were lost); and its JSON-schema validation would be a second settings validator beside
 * the one schema, with other messages.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ExitCode, TextgenError, UsageError } from '../generation/errors.js';
import type { SettingsLayer } from '../generation/settings.js';
import { DEVICES, isDevice, type DeviceName } from '../generation/runtime/device.js';
import { settingKey, settingsFromJson } from '../generation/settings-schema.js';
import { acquireFileLock, type RepoLock } from '../models-cache/lock.js';

/** The devices the config may name (the core's list). */
export const CONFIG_DEVICES = DEVICES;

/** A device the config may name. */
export type ConfigDevice = DeviceName;

/** What the config file holds. */
export interface UserConfig {
  /** The model used when no --model is given. */
  defaultModel?: string;
  /** The model last picked in the chat (preselected next time). */
  lastModel?: string;
  /** Generation settings applied after the model's own and before flags. */
  settings?: SettingsLayer;
  /** Where models run when neither --device nor TEXTGEN_DEVICE says (auto, cpu, cuda or webgpu). */
  device?: ConfigDevice;
  /** An OpenAI-compatible server generate and chat use instead of a local model (--endpoint). */
  endpoint?: string;
  /** Download a hub model named on the command line when it is not cached (as --pull). */
  autoPull?: boolean;
}

/** The file's top-level keys (snake_case) and the spellings read for each. */
const TOP_KEYS: Record<string, string[]> = {
  default_model: ['default_model', 'default-model', 'defaultModel'],
  last_model: ['last_model', 'last-model', 'lastModel'],
  device: ['device'],
  endpoint: ['endpoint'],
  auto_pull: ['auto_pull', 'auto-pull', 'autoPull'],
  settings: ['settings'],
};

/** The canonical top-level key for a name in any spelling, if it is one. */
export function configKey(name: string): string | undefined {
  return Object.keys(TOP_KEYS).find((k) => TOP_KEYS[k].includes(name));
}

/** Where the config file is (the platform's config folder, as conf and env-paths put it). */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEXTGEN_CONFIG_DIR) return join(env.TEXTGEN_CONFIG_DIR, 'config.json');
  const home = env.HOME || homedir();
  if (process.platform === 'darwin')
    return join(home, 'Library', 'Preferences', 'textgen', 'config.json');
  if (process.platform === 'win32')
    return join(
      env.APPDATA || join(home, 'AppData', 'Roaming'),
      'textgen',
      'Config',
      'config.json',
    );
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'textgen', 'config.json');
}

const REPAIR_HINT =
  'Repair it with `textgen config set KEY VALUE` or `textgen config unset KEY` (`textgen config path` prints where it is).';

function unreadable(path: string, reason: string): TextgenError {
  return new TextgenError(`The user config file cannot be read: ${reason} (${path})`, {
    exitCode: ExitCode.usage,
    hint: 'Fix or delete the file (`textgen config path` prints where it is).',
  });
}

/** The file as a plain JSON object; a missing file is {}. Throws when it is not a JSON object. */
export function readRawConfig(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const path = userConfigPath(env);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw unreadable(path, (error as Error).message.split('\n')[0]);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw unreadable(path, 'not a JSON object');
  return raw as Record<string, unknown>;
}

function bad(path: string, message: string): UsageError {
  return new UsageError(`config file ${path}: ${message}`, REPAIR_HINT);
}

/** Reads and validates the whole config; a missing file is an empty config. */
export function readUserConfig(env: NodeJS.ProcessEnv = process.env): UserConfig {
  const path = userConfigPath(env);
  const raw = readRawConfig(env);
  const config: UserConfig = {};
  for (const [name, value] of Object.entries(raw)) {
    const key = configKey(name);
    if (!key) throw bad(path, `unknown key '${name}' (keys: ${Object.keys(TOP_KEYS).join(', ')})`);
    if (value === null || value === undefined) continue;
    if (key === 'settings') {
      try {
        config.settings = settingsFromJson(value, { where: `config file ${path}: settings` });
      } catch (error) {
        throw new UsageError((error as Error).message, REPAIR_HINT);
      }
    } else if (key === 'device') {
      if (!isDevice(value))
        throw bad(
          path,
          `device must be ${CONFIG_DEVICES.join(', ')}, got ${JSON.stringify(value)}`,
        );
      config.device = value as ConfigDevice;
    } else if (key === 'endpoint') {
      if (typeof value !== 'string' || value === '')
        throw bad(path, `endpoint must be a URL, got ${JSON.stringify(value)}`);
      config.endpoint = value;
    } else if (key === 'auto_pull') {
      if (typeof value !== 'boolean')
        throw bad(path, `${name} must be true or false, got ${JSON.stringify(value)}`);
      config.autoPull = value;
    } else {
      if (typeof value !== 'string' || value === '')
        throw bad(path, `${name} must be a model name, got ${JSON.stringify(value)}`);
      if (key === 'default_model') config.defaultModel = value;
      else config.lastModel = value;
    }
  }
  return config;
}

/** The raw settings object of the file (for `config set`/`unset`, which must work on bad values). */
export function rawSettings(raw: Record<string, unknown>): Record<string, unknown> {
  const settings = raw.settings;
  return settings && typeof settings === 'object' && !Array.isArray(settings)
    ? { ...(settings as Record<string, unknown>) }
    : {};
}

/** Rewrites top-level and settings keys into their snake_case spelling (the file's one scheme). */
function normalise(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) out[configKey(name) ?? name] = value;
  if (out.settings && typeof out.settings === 'object' && !Array.isArray(out.settings)) {
    const settings: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(out.settings))
      settings[settingKey(name) ?? name] = value;
    out.settings = settings;
    if (Object.keys(settings).length === 0) delete out.settings;
  }
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

/**
 * Applies one change to the raw file under the config lock: read, change, write a temporary file,
 * fsync, rename. `change` gets the raw JSON object (keys in any spelling) and edits it in place.
 */
export async function updateUserConfig(
  env: NodeJS.ProcessEnv,
  change: (raw: Record<string, unknown>) => void,
): Promise<void> {
  const path = userConfigPath(env);
  await mkdir(dirname(path), { recursive: true });
  const lock = (await acquireFileLock(`${path}.lock`, { pollMs: 20 })) as RepoLock;
  try {
    const raw = readRawConfig(env);
    change(raw);
    const tmp = `${path}.${process.pid}.tmp`;
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(normalise(raw), null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path).catch(async (error: unknown) => {
      await rm(tmp, { force: true });
      throw error;
    });
  } finally {
    lock.release();
  }
}

/** Sets (or, with undefined, removes) one top-level key, whatever spelling the file used for it. */
function setTop(raw: Record<string, unknown>, key: string, value: unknown): void {
  for (const spelling of TOP_KEYS[key]) delete raw[spelling];
  if (value !== undefined) raw[key] = value;
}

/** Records the model picked in the chat. */
export function rememberLastModel(id: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return updateUserConfig(env, (raw) => setTop(raw, 'last_model', id));
}

/** Sets or clears (undefined) the default model. */
export function setDefaultModel(
  id: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return updateUserConfig(env, (raw) => setTop(raw, 'default_model', id));
}

/** Sets or clears (undefined) auto-pull. */
export function setAutoPull(
  on: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return updateUserConfig(env, (raw) => setTop(raw, 'auto_pull', on));
}

/** Sets or clears (undefined) the configured device. */
export function setDevice(
  device: ConfigDevice | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return updateUserConfig(env, (raw) => setTop(raw, 'device', device));
}

/**
 * Sets (value) or removes (undefined) one settings key in the file, removing its other spellings;
 * other keys, valid or not, are left as they are.
 */
export function setUserSetting(
  name: string,
  value: unknown,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return updateUserConfig(env, (raw) => {
    const settings = rawSettings(raw);
    const key = settingKey(name);
    for (const k of Object.keys(settings))
      if (k === name || (key !== undefined && settingKey(k) === key)) delete settings[k];
    if (value !== undefined) settings[key ?? name] = value;
    raw.settings = settings;
  });
}

/** Sets or clears (undefined) the configured endpoint. */
export function setEndpoint(
  endpoint: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return updateUserConfig(env, (raw) => setTop(raw, 'endpoint', endpoint));
}
