/**
 * Picks the files of a hub repo that one dtype needs, by the same rules generation/model/model-folder.ts
 * uses to read a folder: the config and tokenizer files, the ONNX files of the dtype's layout
 * (onnx/ before the repo root) and their external-data files. Nothing else is downloaded.
 */
import { posix } from 'node:path';
import {
  AUTO_DTYPE_ORDER_CPU,
  DTYPE_SUFFIXES,
  type Dtype,
} from '../generation/model/model-folder.js';
import { ExitCode, TextgenError, UsageError } from '../common/errors.js';
import type { GenaiConfigJson } from '../generation/model/config-json.js';

/** Root-level files every model folder may use; each is pulled when the repo has it. */
export const CONFIG_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'genai_config.json',
];

/** The config files of a repo's file list. */
export function configFilesOf(files: string[]): string[] {
  return CONFIG_FILES.filter((f) => files.includes(f));
}

function finder(files: Set<string>) {
  return (base: string, suffix: string) =>
    [`onnx/${base}${suffix}.onnx`, `${base}${suffix}.onnx`].find((f) => files.has(f));
}

/** The ONNX files of one dtype variant (mirrors model-folder.ts layoutFor), or undefined if incomplete. */
export function onnxFilesFor(
  files: string[],
  dtype: Dtype,
  encoderDecoder: boolean,
): string[] | undefined {
  const find = finder(new Set(files));
  const suffix = DTYPE_SUFFIXES[dtype];
  if (encoderDecoder) {
    const encoder = find('encoder_model', suffix);
    const merged = find('decoder_model_merged', suffix);
    const decoder = find('decoder_model', suffix);
    const withPast = find('decoder_with_past_model', suffix);
    if (!encoder || (!merged && !decoder)) return undefined;
    return merged ? [encoder, merged] : [encoder, decoder!, ...(withPast ? [withPast] : [])];
  }
  const model = find('model', suffix);
  if (model) return [model];
  const merged = find('decoder_model_merged', suffix);
  if (merged) return [merged];
  const decoder = find('decoder_model', suffix);
  const withPast = find('decoder_with_past_model', suffix);
  if (decoder) return withPast ? [decoder, withPast] : [decoder];
  return undefined;
}

/** The dtypes whose ONNX files are all in the repo, in DTYPE_SUFFIXES order. */
export function availableDtypes(files: string[], encoderDecoder: boolean): Dtype[] {
  return (Object.keys(DTYPE_SUFFIXES) as Dtype[]).filter((d) =>
    onnxFilesFor(files, d, encoderDecoder),
  );
}

/** External data of an ONNX file: `X.onnx_data`, `X.onnx.data`, `X.onnx_data_N` next to it. */
export function externalDataOf(files: string[], onnx: string): string[] {
  const re = new RegExp(
    `^${onnx.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:_data|\\.data|_data_\\d+)$`,
  );
  return files.filter((f) => re.test(f)).sort();
}

/** Chooses the dtype: the requested one (error listing the available ones) or the first of AUTO_DTYPE_ORDER_CPU. */
export function chooseDtype(
  id: string,
  files: string[],
  encoderDecoder: boolean,
  requested?: string,
): Dtype {
  const available = availableDtypes(files, encoderDecoder);
  if (available.length === 0) {
    throw new TextgenError(`${id} has no ONNX weights textgen can run.`, {
      exitCode: ExitCode.notFound,
      hint: 'textgen runs ONNX exports (onnx/model*.onnx or decoder_model_merged*.onnx); look for an ONNX version of the model, e.g. under onnx-community/.',
    });
  }
  if (requested && requested !== 'auto') {
    if (!(requested in DTYPE_SUFFIXES))
      throw new UsageError(
        `Unknown dtype '${requested}'.`,
        `Use one of: auto, ${Object.keys(DTYPE_SUFFIXES).join(', ')}.`,
      );
    if (!available.includes(requested as Dtype)) {
      throw new TextgenError(
        `${id} has no ${requested} weights (available: ${available.join(', ')}).`,
        { exitCode: ExitCode.notFound, hint: `Pass --dtype ${available[0]}.` },
      );
    }
    return requested as Dtype;
  }
  return AUTO_DTYPE_ORDER_CPU.find((d) => available.includes(d)) ?? available[0];
}

/** The index of a sharded safetensors checkpoint. */
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

/**
 * Whether a repo is a checkpoint to pull for `textgen convert`: no ONNX weights textgen can run, but
 * `model.safetensors` or a sharded index.
 */
export function isSafetensorsCheckpoint(files: string[], encoderDecoder: boolean): boolean {
  return (
    availableDtypes(files, encoderDecoder).length === 0 &&
    (files.includes('model.safetensors') || files.includes(SAFETENSORS_INDEX))
  );
}

/** The shard files a safetensors index names (each must be in the repo). */
export function safetensorsShards(files: string[], index: Record<string, unknown>): string[] {
  const shards = [...new Set(Object.values((index.weight_map ?? {}) as Record<string, unknown>))];
  for (const s of shards)
    if (typeof s !== 'string' || !files.includes(s))
      throw new TextgenError(
        `${SAFETENSORS_INDEX} names ${String(s)}, which the repo does not have.`,
        {
          exitCode: ExitCode.notFound,
          hint: 'The repo is incomplete; try another revision.',
        },
      );
  return shards as string[];
}

/** The ONNX files plus their external data for a dtype. */
export function weightFilesFor(files: string[], dtype: Dtype, encoderDecoder: boolean): string[] {
  const onnx = onnxFilesFor(files, dtype, encoderDecoder) ?? [];
  return onnx.flatMap((f) => [f, ...externalDataOf(files, f)]);
}

/** The model file an onnxruntime-genai folder names in genai_config.json, plus its external data. */
export function genaiWeightFiles(files: string[], genaiConfig: GenaiConfigJson): string[] {
  const name = posix.normalize(String(genaiConfig.model?.decoder?.filename ?? 'model.onnx'));
  if (!files.includes(name)) {
    throw new TextgenError(`genai_config.json names ${name}, which the repo does not have.`, {
      exitCode: ExitCode.notFound,
      hint: 'The repo is incomplete; try another revision.',
    });
  }
  return [name, ...externalDataOf(files, name)];
}
