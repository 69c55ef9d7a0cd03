/**
 * The non-weight files of a converted model folder: config.json (the source's, with the converted
 * context and, for models written with external data, the transformers.js flag that makes it load
 * `onnx/<file>_data`), generation_config.json (the source's, or one made from config.json's token
 * ids), and the tokenizer files copied as they are.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../errors.js';
import { readJsonObject } from './checkpoint.js';
import type { ModelPlan } from './config-spec.js';

/** Tokenizer and template files copied when the source has them (tokenizer.json is required). */
const COPIED = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'chat_template.jinja',
  'chat_template.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
];

/** Throws unless `dir` has the tokenizer textgen reads. */
export function checkTokenizer(dir: string): void {
  if (!existsSync(join(dir, 'tokenizer.json')))
    throw new ModelError(
      `No tokenizer.json in ${dir}.`,
      'textgen reads the fast-tokenizer file tokenizer.json; a checkpoint with only tokenizer.model or vocab.json cannot be converted as is.',
    );
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * config.json for the converted model: the context it was converted for replaces the position
 * count, and each ONNX file written with external data is listed for transformers.js.
 */
export function convertedConfig(
  source: Record<string, any>,
  plan: ModelPlan,
  externalData: string[],
): Record<string, any> {
  const config = { ...source };
  if (plan.spec.arch === 'gpt2') {
    config.n_positions = plan.spec.maxPositions;
    config.n_ctx = plan.spec.maxPositions;
  } else {
    config.max_position_embeddings = plan.spec.maxPositions;
  }
  if (externalData.length) {
    const tjs = { ...(config['transformers.js_config'] ?? {}) };
    tjs.use_external_data_format = Object.fromEntries(externalData.map((f) => [f, 1]));
    config['transformers.js_config'] = tjs;
  }
  return config;
}

/** generation_config.json: the source's, else the token ids config.json declares. */
function generationConfig(source: string, config: Record<string, any>): Record<string, any> {
  const path = join(source, 'generation_config.json');
  if (existsSync(path)) return readJsonObject(path);
  const out: Record<string, any> = {};
  for (const key of ['bos_token_id', 'eos_token_id', 'pad_token_id'])
    if (config[key] !== undefined && config[key] !== null) out[key] = config[key];
  return out;
}

/** Writes the config, generation config and tokenizer files of the converted folder `out`. */
export function writeModelFiles(
  source: string,
  out: string,
  config: Record<string, any>,
  plan: ModelPlan,
  externalData: string[],
): void {
  writeJson(join(out, 'config.json'), convertedConfig(config, plan, externalData));
  writeJson(join(out, 'generation_config.json'), generationConfig(source, config));
  // Read and written rather than copied: a cache snapshot's files are read-only links into blobs/.
  for (const name of COPIED)
    if (existsSync(join(source, name)))
      writeFileSync(join(out, name), readFileSync(join(source, name)));
}
