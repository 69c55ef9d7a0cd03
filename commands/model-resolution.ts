/**
 * Turns --model (or the configured default, or the embedded model) into a folder, offline.
 */
import { resolveModel, type ResolvedModel } from '../models-cache/resolve.js';
import type { CommandContext } from './command.js';
import { configuredDefaultModel } from './user-settings.js';

/** The model folder a command should load. */
export async function resolveModelDir(ctx: CommandContext): Promise<ResolvedModel> {
  return resolveModel(ctx.values.model as string | undefined, {
    env: ctx.env,
    configuredDefault: configuredDefaultModel(ctx.env),
  });
}
