/**
 * The user-config layer of generation settings and the configured default model, read from the
 * user's config file (see user-config.ts).
 */
import type { SettingsLayer } from '../generation/index.js';

/** Generation settings the user saved in their config (the third precedence layer). */
export function readUserSettings(_env: NodeJS.ProcessEnv): SettingsLayer {
  return {};
}

/** The default model the user configured, if any. */
export function configuredDefaultModel(_env: NodeJS.ProcessEnv): string | undefined {
  return undefined;
}
