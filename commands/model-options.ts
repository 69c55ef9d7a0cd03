/**
 * Flags shared by every command that loads a model, and the code that turns them into load options.
 */
import { UsageError } from '../generation/errors.js';
import { DEVICES, isDevice, type TextGeneratorOptions } from '../generation/index.js';
import type { CommandContext, OptionSpec } from './command.js';
import { readUserConfig } from './user-config.js';

/** --model, --dtype, --device, --device-id, --pull, --threads. */
export const MODEL_FLAGS: Record<string, OptionSpec> = {
  model: {
    type: 'string',
    short: 'm',
    valueName: 'ID',
    description:
      'Model folder, org/name[@rev] from the cache, or local/NAME (default: configured, else the embedded model).',
  },
  dtype: {
    type: 'string',
    valueName: 'DTYPE',
    description: 'Weights variant: auto (default), fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4.',
  },
  device: {
    type: 'string',
    valueName: 'DEVICE',
    description:
      'cpu (default), cuda, webgpu, or auto (CUDA when usable, else WebGPU on a hardware GPU, else CPU with a notice); also TEXTGEN_DEVICE or config "device".',
  },
  'device-id': { type: 'string', valueName: 'N', description: 'CUDA device index (default 0).' },
  pull: {
    type: 'boolean',
    description:
      'Download a hub model (org/name) first when it is not cached (config "auto-pull": true does it always).',
  },
  threads: {
    type: 'string',
    short: 't',
    valueName: 'N',
    description:
      'CPU intra-op threads (default: 1 for models under 8 MiB, else min(4, cores - 1)).',
  },
};

/** Parses a non-negative integer flag; undefined when absent. */
export function intFlag(
  values: CommandContext['values'],
  name: string,
  min = 0,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${String(raw)}'.`);
  }
  return n;
}

/**
 * Load options from the model flags. The device comes from --device, else TEXTGEN_DEVICE, else the
 * user config's `device`, else `fallbackDevice`, else cpu (predictable, and no CUDA probing).
 */
export function loadOptionsFrom(
  ctx: CommandContext,
  fallbackDevice?: string,
): TextGeneratorOptions {
  const flag = ctx.values.device as string | undefined;
  const [device, source] =
    flag !== undefined
      ? [flag, '--device']
      : ctx.env.TEXTGEN_DEVICE
        ? [ctx.env.TEXTGEN_DEVICE, 'TEXTGEN_DEVICE']
        : [readUserConfig(ctx.env).device ?? fallbackDevice ?? 'cpu', 'the config device'];
  if (!isDevice(device))
    throw new UsageError(`${source} must be ${DEVICES.join(', ')}, got '${device}'.`);
  return {
    dtype: ctx.values.dtype as string | undefined,
    device,
    // Native runtime logs (ONNX Runtime, Dawn) only when asked for.
    verbose: ctx.values.verbose === true || Boolean(ctx.env.TEXTGEN_DEBUG),
    deviceId: intFlag(ctx.values, 'device-id'),
    threads: intFlag(ctx.values, 'threads', 1),
    signal: ctx.signal,
  };
}
