/**
 * Turns --model (or the configured default, or the embedded model) into a folder, offline. A hub
 * model that is not cached names the exact pull command; with --pull (or `"auto-pull": true` in the
 * user config) it is downloaded first, with the usual progress on stderr.
 */
import { readFileSync } from 'node:fs';
import { pullModel } from '../models-cache/pull.js';
import { ModelNotFoundError, resolveModel, type ResolvedModel } from '../models-cache/resolve.js';
import type { CommandContext } from './command.js';
import { progressReporter } from './models-progress.js';
import { userConfigPath } from './user-config.js';
import { configuredDefaultModel } from './user-settings.js';

/** The model folder a command should load. */
export async function resolveModelDir(ctx: CommandContext): Promise<ResolvedModel> {
  const resolve = () =>
    resolveModel(ctx.values.model as string | undefined, {
      env: ctx.env,
      configuredDefault: configuredDefaultModel(ctx.env),
      dtype: ctx.values.dtype as string | undefined,
    });
  try {
    const resolved = resolve();
    // `-m folder/onnx/model_q4.onnx` means that variant, unless --dtype says otherwise.
    if (resolved.dtype && ctx.values.dtype === undefined) ctx.values.dtype = resolved.dtype;
    return resolved;
  } catch (error) {
    if (!(error instanceof ModelNotFoundError) || !error.pullable || !wantsPull(ctx)) throw error;
    await pullMissing(ctx, error);
    return resolve();
  }
}

/**
 * For commands that resolve the model themselves (chat): downloads `spec` first when it is a hub
 * model missing from the cache and --pull or auto-pull asks for it; does nothing otherwise.
 */
export async function pullIfMissing(ctx: CommandContext, spec: string | undefined): Promise<void> {
  if (!spec || !wantsPull(ctx)) return;
  try {
    resolveModel(spec, { env: ctx.env });
  } catch (error) {
    if (error instanceof ModelNotFoundError && error.pullable) await pullMissing(ctx, error);
  }
}

async function pullMissing(ctx: CommandContext, missing: ModelNotFoundError): Promise<void> {
  const ref = missing.pullable!;
  ctx.stderr.write(`${missing.message} Pulling it (--pull)...\n`);
  await pullModel({
    id: ref.id,
    revision: ref.revision,
    dtype: ctx.values.dtype as string | undefined,
    env: ctx.env,
    signal: ctx.signal,
    onEvent: progressReporter(ctx.stderr),
  });
}

/** --pull, or `"auto-pull": true` in the user config (any of its spellings). */
function wantsPull(ctx: CommandContext): boolean {
  if (ctx.values.pull === true) return true;
  try {
    const config = JSON.parse(readFileSync(userConfigPath(ctx.env), 'utf8')) as Record<
      string,
      unknown
    >;
    return ['auto-pull', 'auto_pull', 'autoPull'].some(
      (k) => config[k] === true || config[k] === 'true',
    );
  } catch {
    return false; // no config file (or an unreadable one, which its own reader reports)
  }
}
