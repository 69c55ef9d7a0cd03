/**
 * The user's config file: the default model, the last model picked in the chat, the device, and a
 * layer of generation settings. It lives in the platform config folder (~/.config/textgen/config.json
 * on Linux, where conf puts it); TEXTGEN_CONFIG_DIR points it elsewhere (tests). ui/ never imports
 * this: the chat command passes what the app needs as props.
 *
 * Reads are plain JSON reads. conf is loaded only to write: importing it installs a signal hook
 * (atomically → when-exit) that re-sends SIGINT to the process, which would turn one Ctrl-C during
 * `generate` into an immediate exit with the model worker mid-run.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TextgenError, ExitCode } from '../generation/errors.js';
import type { SettingsLayer } from '../generation/settings.js';
import { isDevice, type DeviceName } from '../generation/runtime/device.js';

/** What the config file holds. */
export interface UserConfig {
  /** The model used when no --model is given. */
  defaultModel?: string;
  /** The model last picked in the chat (preselected next time). */
  lastModel?: string;
  /** Generation settings applied after the model's own and before flags. */
  settings?: SettingsLayer;
  /** Where models run when neither --device nor TEXTGEN_DEVICE says (auto, cpu, cuda or webgpu). */
  device?: DeviceName;
  /** An OpenAI-compatible server generate and chat use instead of a local model (--endpoint). */
  endpoint?: string;
}

/** Where the config file is (the folder conf uses for projectName 'textgen'). */
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

function unreadable(path: string, reason: string): TextgenError {
  return new TextgenError(`The user config file cannot be read: ${reason} (${path})`, {
    exitCode: ExitCode.usage,
    hint: 'Fix or delete the file (`textgen config path` prints where it is).',
  });
}

/** Reads the whole config; a missing file is an empty config. */
export function readUserConfig(env: NodeJS.ProcessEnv = process.env): UserConfig {
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
  const store = raw as Record<string, unknown>;
  const { settings, device, endpoint } = store;
  return {
    defaultModel: typeof store.defaultModel === 'string' ? store.defaultModel : undefined,
    lastModel: typeof store.lastModel === 'string' ? store.lastModel : undefined,
    settings:
      settings && typeof settings === 'object' && !Array.isArray(settings)
        ? (settings as SettingsLayer)
        : undefined,
    // Only when set, so configs without it read exactly as before.
    ...(isDevice(device) ? { device } : {}),
    ...(typeof endpoint === 'string' && endpoint ? { endpoint } : {}),
  };
}

/** Applies one change through conf (atomic writes, the same file readUserConfig reads). */
async function update(
  env: NodeJS.ProcessEnv,
  change: (store: { set(k: string, v: unknown): void; delete(k: string): void }) => void,
): Promise<void> {
  const { default: Conf } = await import('conf');
  const path = userConfigPath(env);
  let store;
  try {
    store = new Conf<Record<string, unknown>>({ cwd: dirname(path), configName: 'config' });
  } catch (error) {
    throw unreadable(path, (error as Error).message.split('\n')[0]);
  }
  change(store as unknown as { set(k: string, v: unknown): void; delete(k: string): void });
}

/** Records the model picked in the chat. */
export function rememberLastModel(id: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return update(env, (store) => store.set('lastModel', id));
}

/** Sets or clears (undefined) the default model. */
export function setDefaultModel(
  id: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return update(env, (store) =>
    id === undefined ? store.delete('defaultModel') : store.set('defaultModel', id),
  );
}

/** Replaces the saved generation-settings layer (an empty layer removes it). */
export function writeUserSettings(
  settings: SettingsLayer,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return update(env, (store) =>
    Object.keys(settings).length === 0 ? store.delete('settings') : store.set('settings', settings),
  );
}

/** Sets or clears (undefined) the configured device. */
export function setDevice(
  device: DeviceName | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return update(env, (store) =>
    device === undefined ? store.delete('device') : store.set('device', device),
  );
}

/** Sets or clears (undefined) the configured endpoint. */
export function setEndpoint(
  endpoint: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return update(env, (store) =>
    endpoint === undefined ? store.delete('endpoint') : store.set('endpoint', endpoint),
  );
}
