/**
 * Load-time checks that a model folder's parts belong together, read from the ONNX files' structure
 * (onnx-graph.ts) before any session exists: the file is the kind of model its layout says (a causal
 * LM, not the decoder half of an encoder-decoder, not an encoder without a language-model head); the
 * tokenizer's ids fit the embedding table; the configured context fits the position table. A mismatch
 * is a ModelError (exit 3) naming the files, where it used to surface as an onnxruntime failure in
 * the middle of generation ("Gather ... out of bounds", "input ... is missing in feeds").
 */
import { basename, dirname } from 'node:path';
import { ModelError } from '../errors.js';
import type { ModelFolder, OnnxLayout } from './model-folder.js';
import { readOnnxGraph, type OnnxGraph, type OnnxNode } from './onnx-graph.js';

/** What the checks found, for the host to use. */
export interface Compatibility {
  /** Rows of the token embedding (ids at or above it have no embedding); undefined if unknown. */
  vocabRows?: number;
  /** The context to use: the configured one, or the position table's size when none was configured. */
  contextLength: number;
}

/** Inputs that mark a graph as something other than a causal LM textgen can feed. */
const FOREIGN_INPUTS: Record<string, string> = {
  encoder_hidden_states: 'the decoder of an encoder-decoder model',
  encoder_attention_mask: 'the decoder of an encoder-decoder model',
  encoder_outputs: 'the decoder of an encoder-decoder model',
  pixel_values: 'a vision model',
  input_features: 'a speech model',
  input_values: 'an audio model',
};

/** Ops whose output values come from their inputs' values (a position or token id flows through). */
const VALUE_OPS = new Set([
  'Cast',
  'Identity',
  'Reshape',
  'Unsqueeze',
  'Squeeze',
  'Flatten',
  'Expand',
  'Add',
  'Sub',
  'Slice',
  'Concat',
  'Clip',
  'Min',
  'Max',
  'CumSum',
  'Where',
]);

/** The config fields that state a context length (an explicit one is checked, not replaced). */
const CONTEXT_FIELDS = [
  'max_position_embeddings',
  'n_positions',
  'n_ctx',
  'max_sequence_length',
  'seq_length',
];

/** The file that decodes steps, and the encoder's file for text-to-text models. */
function filesOf(layout: OnnxLayout): { decoder: string; encoder?: string } {
  switch (layout.kind) {
    case 'decoder-split':
      return { decoder: layout.decoderWithPast };
    case 'encoder-decoder':
      return {
        decoder: layout.decoderMerged ?? layout.decoderWithPast ?? layout.decoder!,
        encoder: layout.encoder,
      };
    default:
      return { decoder: layout.model };
  }
}

function shortName(file: string): string {
  const parent = basename(dirname(file));
  return parent === 'onnx' ? `onnx/${basename(file)}` : basename(file);
}

/** Which graph inputs feed `name`'s values (through VALUE_OPS only; shapes and ranges stop the walk). */
function sourcesOf(
  name: string,
  producers: Map<string, OnnxNode>,
  inputs: Set<string>,
): Set<string> {
  const found = new Set<string>();
  const stack = [name];
  const seen = new Set<string>();
  while (stack.length && seen.size < 256) {
    const value = stack.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    if (inputs.has(value)) {
      found.add(value);
      continue;
    }
    const node = producers.get(value);
    if (node && VALUE_OPS.has(node.op)) stack.push(...node.inputs.filter(Boolean));
  }
  return found;
}

/** Row counts of the token embedding and of the position tables, from the graph. */
export function tableRows(
  graph: OnnxGraph,
  idsName: string,
  positionNames: string[],
): { tokens?: number; positions?: number } {
  const producers = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producers.set(o, n);
  const inputs = new Set(graph.inputs.map((i) => i.name));
  const rows = (name: string | undefined) => {
    const dims = name === undefined ? undefined : graph.initializers.get(name);
    return dims && dims.length === 2 ? dims[0] : undefined;
  };
  const tokens: number[] = [];
  const positions: number[] = [];
  const add = (list: number[], value: number | undefined) => value && list.push(value);
  for (const n of graph.nodes) {
    const ms = n.domain === 'com.microsoft';
    if ((n.op === 'Gather' || n.op === 'GatherBlockQuantized') && (n.ints.axis ?? 0) === 0) {
      const r = rows(n.inputs[0]);
      if (r === undefined) continue;
      const from = sourcesOf(n.inputs[1], producers, inputs);
      if (from.has(idsName)) add(tokens, r);
      else if (positionNames.some((p) => from.has(p))) add(positions, r);
    } else if (ms && n.op === 'EmbedLayerNormalization') {
      add(tokens, rows(n.inputs[2]));
      add(positions, rows(n.inputs[3]));
    } else if (ms && n.op === 'RotaryEmbedding') {
      add(positions, rows(n.inputs[2]));
    } else if (ms && n.op === 'GroupQueryAttention') {
      add(positions, rows(n.inputs[7]));
    }
  }
  const logits = graph.outputs.find((o) => o.name === 'logits')?.dims.at(-1);
  if (!tokens.length && typeof logits === 'number') tokens.push(logits);
  return {
    tokens: tokens.length ? Math.min(...tokens) : undefined,
    positions: positions.length ? Math.min(...positions) : undefined,
  };
}

/** Throws a ModelError when the graph is not something this layout can run. */
function checkKind(
  graph: OnnxGraph,
  file: string,
  idsName: string,
  logitsName: string,
  causal: boolean,
): void {
  const names = graph.inputs.map((i) => i.name);
  if (causal) {
    const foreign = names.filter((n) => FOREIGN_INPUTS[n]);
    if (foreign.length)
      throw new ModelError(
        `${shortName(file)} is ${FOREIGN_INPUTS[foreign[0]]}, not a causal LM (it needs ${foreign.join(', ')}).`,
        foreign[0].startsWith('encoder')
          ? 'An encoder-decoder model needs onnx/encoder_model.onnx and onnx/decoder_model_merged.onnx, and "is_encoder_decoder": true in config.json.'
          : 'textgen runs text-generation models only.',
      );
  }
  if (!names.includes(idsName))
    throw new ModelError(
      `${shortName(file)} has no ${idsName} input (inputs: ${names.join(', ') || 'none'}).`,
      'textgen runs text-generation exports that take token ids.',
    );
  if (!graph.outputs.some((o) => o.name === logitsName))
    throw new ModelError(
      `${shortName(file)} has no ${logitsName} output (outputs: ${graph.outputs.map((o) => o.name).join(', ')}): it is an encoder or a base model without a language-model head.`,
      'Export the model with its LM head (e.g. optimum --task text-generation-with-past).',
    );
}

/** The highest token id the tokenizer's own vocabulary can produce, plus one. */
export interface TokenizerVocab {
  /** Ids of the base vocabulary (added tokens excluded) are below this. */
  baseLimit: number;
}

/**
 * Checks a folder before its sessions are created; throws ModelError on a mismatch. Files that cannot
 * be parsed are left to onnxruntime, which names the damage itself.
 */
export function checkCompatibility(
  folder: ModelFolder,
  layout: OnnxLayout,
  tokenizer: TokenizerVocab,
): Compatibility {
  const result: Compatibility = { contextLength: folder.contextLength };
  const files = filesOf(layout);
  const genai = folder.genaiConfig?.model?.decoder as
    { inputs?: Record<string, string>; outputs?: Record<string, string> } | undefined;
  const idsName = String(genai?.inputs?.input_ids ?? 'input_ids');
  const logitsName = String(genai?.outputs?.logits ?? 'logits');
  const positionNames = [
    String(genai?.inputs?.position_ids ?? 'position_ids'),
    String(genai?.inputs?.attention_mask ?? 'attention_mask'),
  ];
  const causal = layout.kind !== 'encoder-decoder';
  const graph = readOnnxGraph(files.decoder);
  if (!graph) return result;
  checkKind(graph, files.decoder, idsName, logitsName, causal);
  const rows = tableRows(graph, idsName, positionNames);
  if (rows.tokens !== undefined) {
    result.vocabRows = rows.tokens;
    if (tokenizer.baseLimit > rows.tokens)
      throw new ModelError(
        `tokenizer.json has ids up to ${tokenizer.baseLimit - 1}, but ${shortName(files.decoder)} embeds only ${rows.tokens} tokens: the tokenizer does not belong to this model.`,
        "Use the tokenizer.json that was exported with the model (its vocabulary size must match the model's).",
      );
  }
  if (causal && rows.positions !== undefined && rows.positions < folder.contextLength) {
    const field = CONTEXT_FIELDS.find(
      (k) => typeof folder.config[k] === 'number' && folder.config[k] > 0,
    );
    if (field || folder.genaiConfig?.model?.context_length)
      throw new ModelError(
        `${field ? `config.json's ${field}` : "genai_config.json's context_length"} is ${folder.contextLength}, but ${shortName(files.decoder)} has positions for ${rows.positions} tokens only.`,
        `Set ${field ?? 'context_length'} to ${rows.positions} (or use the model's original config).`,
      );
    // No context was configured (a default applied): the position table says how long it is.
    result.contextLength = rows.positions;
  }
  return result;
}
