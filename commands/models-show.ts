/**
 * `textgen models show ID`: what a model is, from its files only (no session is created).
 */
import { jsonOutput } from '../common/json-output.js';
import { basename } from 'node:path';
import type { CommandContext } from './command.js';
import {
  inspectModelFolder,
  type Dtype,
  type ModelFolder,
  type OnnxLayout,
} from '../generation/model/model-folder.js';
import { resolveModel } from '../models-cache/resolve.js';
import { distinctSize, snapshotFiles, type SnapshotFile } from '../models-cache/scan.js';
import { externalDataOf } from '../models-cache/select-files.js';
import { formatBytes, indent, renderTable } from './models-format.js';

const CONFIG_KEYS: Array<[string, string[]]> = [
  ['model_type', ['model_type']],
  ['architecture', ['architectures']],
  ['vocab_size', ['vocab_size']],
  ['hidden_size', ['hidden_size', 'n_embd', 'd_model']],
  ['layers', ['num_hidden_layers', 'n_layer', 'num_layers']],
  ['attention_heads', ['num_attention_heads', 'n_head', 'num_heads']],
  ['kv_heads', ['num_key_value_heads']],
  ['intermediate_size', ['intermediate_size', 'n_inner', 'd_ff']],
  ['torch_dtype', ['torch_dtype']],
];

const IGNORED_GENERATION_KEYS = new Set(['transformers_version', '_from_model_config']);

/** The JSON `models show --json` prints. */
export interface ModelDescription {
  id: string;
  revision?: string;
  dir: string;
  modelType: string;
  architecture: string;
  task: ModelFolder['task'];
  contextLength: number;
  vocabSize: number;
  config: Record<string, unknown>;
  files: Array<{ path: string; size: number }>;
  sizeBytes: number;
  /** Each variant's files and total size; `textgenQuantized` marks one `textgen quantize` wrote. */
  dtypes: Partial<
    Record<Dtype, { files: string[]; sizeBytes: number; textgenQuantized?: boolean }>
  >;
  chatTemplate: boolean;
  generationDefaults: Record<string, unknown>;
}

function layoutFiles(layout: OnnxLayout): string[] {
  return Object.entries(layout)
    .filter(([k, v]) => k !== 'kind' && typeof v === 'string')
    .map(([, v]) => v as string);
}

/** Describes a resolved model folder. */
export function describeModel(
  id: string,
  revision: string | undefined,
  dir: string,
): ModelDescription {
  const folder = inspectModelFolder(dir);
  const files = snapshotFiles(dir);
  const sizeOf = (rel: string) => files.find((f) => f.path === rel)?.size ?? 0;
  const config: Record<string, unknown> = {};
  const source = configSource(folder);
  for (const [label, keys] of CONFIG_KEYS) {
    const key = keys.find((k) => source[k] !== undefined);
    if (key) config[label] = Array.isArray(source[key]) ? source[key][0] : source[key];
  }
  const dtypes: ModelDescription['dtypes'] = {};
  const names = files.map((f) => f.path);
  for (const dtype of folder.dtypes) {
    const onnx = layoutFiles(folder.layouts[dtype]!).map((abs) => relativeTo(dir, abs));
    const all = onnx.flatMap((f) => [f, ...externalDataOf(names, f)]);
    dtypes[dtype] = { files: all, sizeBytes: all.reduce((a, f) => a + sizeOf(f), 0) };
    if (folder.quantizedByTextgen.includes(dtype)) dtypes[dtype].textgenQuantized = true;
  }
  // onnxruntime-genai folders keep their generation defaults under genai_config.json "search".
  const generation =
    folder.generationConfig ??
    (folder.genaiConfig?.search as Record<string, unknown> | undefined) ??
    {};
  const generationDefaults = Object.fromEntries(
    Object.entries(generation).filter(([k]) => !IGNORED_GENERATION_KEYS.has(k)),
  );
  return {
    id,
    revision,
    dir,
    modelType: folder.modelType,
    architecture: folder.architecture,
    task: folder.task,
    contextLength: folder.contextLength,
    vocabSize: folder.vocabSize,
    config,
    files: files.map((f: SnapshotFile) => ({ path: f.path, size: f.size })),
    sizeBytes: distinctSize(files),
    dtypes,
    chatTemplate: folder.hasChatTemplate,
    generationDefaults,
  };
}

/** config.json, or for an onnxruntime-genai folder without one, the model section of genai_config.json. */
function configSource(folder: ModelFolder): Record<string, unknown> {
  if (Object.keys(folder.config).length > 0 || !folder.genaiConfig?.model) return folder.config;
  const model = folder.genaiConfig.model;
  return { model_type: model.type, vocab_size: model.vocab_size, ...(model.decoder ?? {}) };
}

function relativeTo(dir: string, abs: string): string {
  return abs.startsWith(`${dir}/`) ? abs.slice(dir.length + 1) : basename(abs);
}

/** Runs `textgen models show SPEC`. */
export async function showModel(ctx: CommandContext, spec: string): Promise<number> {
  const revision = ctx.values.revision as string | undefined;
  const resolved = resolveModel(revision && !spec.includes('@') ? `${spec}@${revision}` : spec, {
    env: ctx.env,
  });
  const d = describeModel(resolved.id, resolved.revision, resolved.dir);
  if (ctx.values.json) {
    ctx.stdout.write(jsonOutput(d, { indent: 2, opaque: ['config'] }));
    return 0;
  }
  const out: string[] = [];
  out.push(
    `${d.id}${d.revision ? ` (${d.revision})` : ''}`,
    `  folder: ${d.dir}`,
    `  task: ${d.task}`,
    `  context length: ${d.contextLength}`,
  );
  out.push(
    `  chat template: ${d.chatTemplate ? 'yes' : 'no'}`,
    `  size on disk: ${formatBytes(d.sizeBytes)}`,
    '',
    'Config:',
  );
  for (const [k, v] of Object.entries(d.config)) out.push(`  ${k}: ${String(v)}`);
  out.push('', 'Dtype variants:');
  for (const [dtype, v] of Object.entries(d.dtypes))
    out.push(
      `  ${dtype.padEnd(6)} ${formatBytes(v!.sizeBytes).padStart(8)}  ${v!.files.join(', ')}${v!.textgenQuantized ? '  (made by textgen quantize)' : ''}`,
    );
  out.push('', 'Generation defaults:');
  const gen = Object.entries(d.generationDefaults);
  if (gen.length === 0) out.push('  (none in the model folder)');
  for (const [k, v] of gen) out.push(`  ${k}: ${JSON.stringify(v)}`);
  out.push('', 'Files:');
  ctx.stdout.write(`${out.join('\n')}\n`);
  const rows = [['FILE', 'SIZE'], ...d.files.map((f) => [f.path, formatBytes(f.size)])];
  ctx.stdout.write(indent(renderTable(rows)));
  return 0;
}
