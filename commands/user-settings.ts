/**
 * The user-config layer of generation settings and the configured default model (see user-config.ts).
 */
import type { SettingsLayer } from '../generation/index.js';
import { readUserConfig } from './user-config.js';

/** Generation settings the user saved in their config (the third precedence layer). */
export function readUserSettings(env: NodeJS.ProcessEnv): SettingsLayer {
  return readUserConfig(env).settings ?? {};
}

/** The default model the user configured, if any. */
export function configuredDefaultModel(env: NodeJS.ProcessEnv): string | undefined {
  return readUserConfig(env).defaultModel;
}
