/**
 * Reads a model folder and works out what it is: the task, the ONNX layout (optimum/transformers.js
 * decoder, merged decoder, encoder-decoder, or an onnxruntime-genai folder), the dtype variants
 * present, and the config files. Pure file inspection: no session is created here, so the cache can use
 * it to list models cheaply.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ExitCode, ModelError, TextgenError, UsageError } from '../errors.js';
import { FUSED_STEM } from './fused-file.js';
import { textgenVariants } from '../quantize/report.js';
import {
  isJsonObject,
  type ConfigJson,
  type GenaiConfigJson,
  type JsonObject,
  type TokenizerConfigJson,
} from './config-json.js';
import { foreignFolderError } from './foreign-format.js';
import { graphDtype, readOnnxGraph } from './onnx-graph.js';

/** transformers.js dtype names and their ONNX file-name suffixes. */
export const DTYPE_SUFFIXES = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
} as const;

/** A dtype name accepted by `--dtype`. */
export type Dtype = keyof typeof DTYPE_SUFFIXES;

/**
 * The automatic dtype order (after any variant `textgen quantize` wrote in the folder, newest first;
 * see {@link ModelFolder.quantizedByTextgen}): full precision first (exact and fastest for small models on CPU), then the
 * 8-bit variants, then 4-bit, then fp16 (slow on most CPUs). On CUDA fp16 goes first.
 */
export const AUTO_DTYPE_ORDER_CPU: Dtype[] = [
  'fp32',
  'q8',
  'int8',
  'uint8',
  'q4',
  'bnb4',
  'fp16',
  'q4f16',
];
/** The automatic dtype order on CUDA. */
export const AUTO_DTYPE_ORDER_CUDA: Dtype[] = [
  'fp16',
  'fp32',
  'q4f16',
  'q8',
  'int8',
  'uint8',
  'q4',
  'bnb4',
];

/** The ONNX files of one dtype variant, by role. */
export type OnnxLayout =
  | { kind: 'decoder'; model: string }
  /** textgen's fused graph (zero-copy KV), preferred over the optimum file `compatible` when both exist. */
  | { kind: 'fused'; model: string; compatible?: string }
  | { kind: 'decoder-merged'; model: string }
  | { kind: 'decoder-split'; decoder: string; decoderWithPast: string }
  | {
      kind: 'encoder-decoder';
      encoder: string;
      decoderMerged?: string;
      decoder?: string;
      decoderWithPast?: string;
    }
  | { kind: 'genai'; model: string };

/** What a folder holds, without loading any ONNX file. */
export interface ModelFolder {
  dir: string;
  config: ConfigJson;
  generationConfig?: JsonObject;
  tokenizerConfig: TokenizerConfigJson;
  genaiConfig?: GenaiConfigJson;
  modelType: string;
  architecture: string;
  task: 'text-generation' | 'text2text-generation';
  contextLength: number;
  vocabSize: number;
  /** The dtype variants that have a complete set of ONNX files. */
  dtypes: Dtype[];
  /** Layout per available dtype. */
  layouts: Partial<Record<Dtype, OnnxLayout>>;
  /** Variants `textgen quantize` wrote here (still intact), newest first: auto tries them first. */
  quantizedByTextgen: Dtype[];
  hasChatTemplate: boolean;
}

/** "Missing PATH.", or what PATH is when it is a link that leads to no file (a loop, a lost target). */
function missing(path: string): string {
  try {
    if (lstatSync(path).isSymbolicLink())
      return `${path} is a symbolic link that leads to no file (a link loop or a missing target).`;
  } catch {
    // not there at all
  }
  return `Missing ${path}.`;
}

function readJson(path: string, required: boolean): JsonObject | undefined {
  if (!existsSync(path)) {
    if (required)
      throw new ModelError(
        missing(path),
        'A model folder needs config.json, tokenizer.json and an ONNX file.',
      );
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!isJsonObject(value)) throw new Error('not a JSON object');
    return value;
  } catch (error) {
    throw new ModelError(
      `${path} is not valid JSON (${(error as Error).message}).`,
      'Re-download or repair the file.',
    );
  }
}

function onnxDirOf(dir: string): string[] {
  return [join(dir, 'onnx'), dir].filter((d) => existsSync(d) && statSync(d).isDirectory());
}

function find(dirs: string[], name: string): string | undefined {
  for (const d of dirs) if (existsSync(join(d, name))) return join(d, name);
  return undefined;
}

function layoutFor(
  dirs: string[],
  suffix: string,
  encoderDecoder: boolean,
): OnnxLayout | undefined {
  const f = (base: string) => find(dirs, `${base}${suffix}.onnx`);
  if (encoderDecoder) {
    const encoder = f('encoder_model');
    const decoderMerged = f('decoder_model_merged');
    const decoder = f('decoder_model');
    const decoderWithPast = f('decoder_with_past_model');
    if (encoder && (decoderMerged || (decoder && decoderWithPast)))
      return { kind: 'encoder-decoder', encoder, decoderMerged, decoder, decoderWithPast };
    return undefined;
  }
  const model = f('model');
  const fused = f(FUSED_STEM);
  if (fused) return { kind: 'fused', model: fused, compatible: model };
  if (model) return { kind: 'decoder', model };
  const merged = f('decoder_model_merged');
  if (merged) return { kind: 'decoder-merged', model: merged };
  const decoder = f('decoder_model');
  const withPast = f('decoder_with_past_model');
  if (decoder && withPast) return { kind: 'decoder-split', decoder, decoderWithPast: withPast };
  if (decoder) return { kind: 'decoder', model: decoder };
  return undefined;
}

function listOnnx(dirs: string[]): string[] {
  return dirs.flatMap((d) => readdirSync(d).filter((n) => n.endsWith('.onnx')));
}

/** Inspects a model folder; throws ModelError naming what is missing when it matches no layout. */
export function inspectModelFolder(dir: string): ModelFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelError(
      `Model folder not found: ${dir}.`,
      'Pass --model with a folder, an org/name from `textgen models list`, or pull one with `textgen models pull`.',
    );
  }
  const foreign = foreignFolderError(dir);
  if (foreign) throw foreign;
  // The declared field types are what these files hold; a file that disagrees fails where it is read.
  const genaiConfig: GenaiConfigJson | undefined = readJson(join(dir, 'genai_config.json'), false);
  const config: ConfigJson = readJson(join(dir, 'config.json'), !genaiConfig) ?? {};
  const generationConfig = readJson(join(dir, 'generation_config.json'), false);
  const tokenizerConfig: TokenizerConfigJson =
    readJson(join(dir, 'tokenizer_config.json'), false) ?? {};
  if (!existsSync(join(dir, 'tokenizer.json'))) {
    throw new ModelError(
      missing(join(dir, 'tokenizer.json')),
      'textgen needs the Hugging Face tokenizer.json next to the model.',
    );
  }
  const genaiModel = genaiConfig?.model;
  const encoderDecoder = Boolean(config.is_encoder_decoder);
  const dirs = onnxDirOf(dir);
  const layouts: Partial<Record<Dtype, OnnxLayout>> = {};
  if (genaiModel) {
    const file = join(dir, String(genaiModel.decoder?.filename ?? 'model.onnx'));
    if (!existsSync(file))
      throw new ModelError(
        `genai_config.json names ${file}, which is missing.`,
        'Re-download the model folder.',
      );
    layouts[genaiDtype(dir, genaiModel, config, file)] = { kind: 'genai', model: file };
  } else {
    for (const [dtype, suffix] of Object.entries(DTYPE_SUFFIXES) as Array<[Dtype, string]>) {
      const layout = layoutFor(dirs, suffix, encoderDecoder);
      if (layout) layouts[dtype] = layout;
    }
  }
  const dtypes = (Object.keys(DTYPE_SUFFIXES) as Dtype[]).filter((d) => layouts[d]);
  if (dtypes.length === 0) {
    const found = listOnnx(dirs);
    throw new ModelError(
      `No supported ONNX layout in ${dir} (found: ${found.length ? found.join(', ') : 'no .onnx files'}).`,
      encoderDecoder
        ? 'An encoder-decoder model needs onnx/encoder_model.onnx and onnx/decoder_model_merged.onnx (or decoder_model.onnx + decoder_with_past_model.onnx).'
        : 'A causal LM needs onnx/model{,_fp16,_quantized,_q4,...}.onnx, onnx/decoder_model_merged.onnx, or genai_config.json with its model file.',
    );
  }
  const modelType = String(config.model_type ?? genaiModel?.type ?? 'unknown');
  return {
    dir,
    config,
    generationConfig,
    tokenizerConfig,
    genaiConfig,
    modelType,
    architecture: String(config.architectures?.[0] ?? modelType),
    task: encoderDecoder ? 'text2text-generation' : 'text-generation',
    contextLength: contextLengthOf(config, genaiModel, generationConfig, tokenizerConfig),
    vocabSize: Number(config.vocab_size ?? genaiModel?.vocab_size ?? 0),
    dtypes,
    layouts,
    quantizedByTextgen: genaiModel ? [] : textgenVariants(dir).filter((d) => layouts[d]),
    hasChatTemplate:
      Boolean(tokenizerConfig.chat_template) || existsSync(join(dir, 'chat_template.jinja')),
  };
}

/**
 * A genai folder holds one variant and names no dtype: its graph's ops and tensor types tell; when
 * the file cannot be read, the builder's folder and file names (`...-int4-...`, `...-fp16`) and
 * config.json's torch_dtype are the hint.
 */
function genaiDtype(
  dir: string,
  genaiModel: NonNullable<GenaiConfigJson['model']>,
  config: ConfigJson,
  file: string,
): Dtype {
  // The graph itself says (a cached snapshot's folder is a commit hash, with no name to go by).
  const graph = readOnnxGraph(file);
  if (graph) return graphDtype(graph);
  const hint =
    `${basename(dir)} ${genaiModel.decoder?.filename ?? ''} ${config.torch_dtype ?? ''}`.toLowerCase();
  if (/int4|q4/.test(hint)) return /fp16|float16/.test(hint) ? 'q4f16' : 'q4';
  if (/fp16|float16/.test(hint)) return 'fp16';
  return 'fp32';
}

/** The context window: the first of the usual config fields that is present. */
function contextLengthOf(
  config: ConfigJson,
  genai?: GenaiConfigJson['model'],
  gen?: JsonObject,
  tok?: TokenizerConfigJson,
): number {
  const candidates = [
    config.max_position_embeddings,
    config.n_positions,
    config.n_ctx,
    config.max_sequence_length,
    config.seq_length,
    genai?.context_length,
  ];
  for (const c of candidates) if (typeof c === 'number' && c > 0) return c;
  if (
    config.is_encoder_decoder &&
    typeof tok?.model_max_length === 'number' &&
    tok.model_max_length < 1e9
  )
    return tok.model_max_length;
  if (typeof gen?.max_length === 'number') return gen.max_length;
  return 2048;
}

/** Picks the dtype: the requested one (error listing the available ones if absent) or the automatic order. */
export function selectDtype(
  folder: ModelFolder,
  requested: string | undefined,
  device: 'cpu' | 'cuda' | 'webgpu' = 'cpu',
): Dtype {
  if (requested && requested !== 'auto') {
    if (!(requested in DTYPE_SUFFIXES)) {
      throw new UsageError(
        `Unknown dtype '${requested}'.`,
        `Use one of: auto, ${Object.keys(DTYPE_SUFFIXES).join(', ')}.`,
      );
    }
    if (!folder.layouts[requested as Dtype]) {
      // A variant that does not exist is "not found" (exit 4), like a missing model or revision.
      throw new TextgenError(
        `${folder.dir} has no ${requested} weights (available: ${folder.dtypes.join(', ')}).`,
        {
          exitCode: ExitCode.notFound,
          hint: `Pass --dtype ${folder.dtypes[0]}, or pull that variant with \`textgen models pull ID --dtype ${requested}\`.`,
        },
      );
    }
    return requested as Dtype;
  }
  // A variant the user made with `textgen quantize` is what they asked for: it goes first. GPUs
  // (CUDA, WebGPU) run fp16 natively: the CUDA order serves both.
  const order = [
    ...(folder.quantizedByTextgen ?? []),
    ...(device === 'cpu' ? AUTO_DTYPE_ORDER_CPU : AUTO_DTYPE_ORDER_CUDA),
  ];
  return order.find((d) => folder.layouts[d]) ?? folder.dtypes[0];
}
