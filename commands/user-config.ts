/**
 * The user's config file (conf): the default model, the last model picked in the chat, and a layer
 * of generation settings. Lives in the platform config folder (~/.config/textgen/config.json on
 * Linux); TEXTGEN_CONFIG_DIR points it elsewhere (tests). ui/ never imports this: the chat command
 * passes what the app needs as props.
 */
import Conf from 'conf';
import { TextgenError, ExitCode } from '../generation/errors.js';
import type { SettingsLayer } from '../generation/settings.js';

/** What the config file holds. */
export interface UserConfig {
  /** The model used when no --model is given. */
  defaultModel?: string;
  /** The model last picked in the chat (preselected next time). */
  lastModel?: string;
  /** Generation settings applied after the model's own and before flags. */
  settings?: SettingsLayer;
  /** Where models run when neither --device nor TEXTGEN_DEVICE says (auto, cpu or cuda). */
  device?: 'auto' | 'cpu' | 'cuda';
}

function open(env: NodeJS.ProcessEnv): Conf<UserConfig> {
  try {
    return new Conf<UserConfig>(env.TEXTGEN_CONFIG_DIR ? { cwd: env.TEXTGEN_CONFIG_DIR, configName: 'config' } : { projectName: 'textgen', projectSuffix: '' });
  } catch (error) {
    throw new TextgenError(`The user config file cannot be read: ${(error as Error).message.split('\n')[0]}`, {
      exitCode: ExitCode.usage,
      hint: 'Fix or delete the file (its path is in `textgen doctor`).',
    });
  }
}

/** Where the config file is. */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return open(env).path;
}

/** Reads the whole config; a missing file is an empty config. */
export function readUserConfig(env: NodeJS.ProcessEnv = process.env): UserConfig {
  const store = open(env);
  const settings = store.get('settings');
  const device = store.get('device');
  return {
    defaultModel: typeof store.get('defaultModel') === 'string' ? store.get('defaultModel') : undefined,
    lastModel: typeof store.get('lastModel') === 'string' ? store.get('lastModel') : undefined,
    settings: settings && typeof settings === 'object' && !Array.isArray(settings) ? settings : undefined,
    // Only when set, so configs without it read exactly as before.
    ...(device === 'auto' || device === 'cpu' || device === 'cuda' ? { device } : {}),
  };
}

/** Records the model picked in the chat. */
export function rememberLastModel(id: string, env: NodeJS.ProcessEnv = process.env): void {
  open(env).set('lastModel', id);
}

/** Sets or clears (undefined) the default model. */
export function setDefaultModel(id: string | undefined, env: NodeJS.ProcessEnv = process.env): void {
  const store = open(env);
  if (id === undefined) store.delete('defaultModel');
  else store.set('defaultModel', id);
}

/** Replaces the saved generation-settings layer (an empty layer removes it). */
export function writeUserSettings(settings: SettingsLayer, env: NodeJS.ProcessEnv = process.env): void {
  const store = open(env);
  if (Object.keys(settings).length === 0) store.delete('settings');
  else store.set('settings', settings);
}
