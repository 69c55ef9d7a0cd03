/**
 * Opens the ONNX sessions a model folder's layout needs, on the chosen device and dtype.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ModelFolder, OnnxLayout } from '../model/model-folder.js';
import { DecoderRunner } from './decoder-runner.js';
import { Seq2SeqRunner } from './seq2seq-runner.js';
import { GpuKvOps } from './gpu-kv-ops.js';
import {
  defaultThreads,
  openGpuHelper,
  openSession,
  type ConcreteDevice,
  type Device,
  type WebgpuVerdict,
} from './ort.js';

/** Options for opening a model's sessions. */
export interface OpenOptions {
  device?: Device;
  deviceId?: number;
  threads?: number;
  /** Native runtime logs (ONNX Runtime, Dawn) on stderr. */
  verbose?: boolean;
  /** The WebGPU auto verdict, when the main thread already has it. */
  webgpu?: WebgpuVerdict;
  /** On WebGPU, keep the KV cache on the GPU (default true; false copies it each step, for comparison). */
  kvOnGpu?: boolean;
}

/** Present (KV) outputs: what stays on the GPU between steps. */
const PRESENT = /^present/;

/** Opened sessions and the figures the user sees. */
export interface OpenedModel {
  runner: DecoderRunner | Seq2SeqRunner;
  device: ConcreteDevice;
  threads: number;
  notice?: string;
}

function fileBytes(path: string): number {
  let total = statSync(path).size;
  for (const suffix of ['_data', '.data']) {
    try {
      total += statSync(path + suffix).size;
    } catch {
      // External weights are optional.
    }
  }
  return total;
}

/** The intra-op thread count: the user's, or a default sized to the weights. */
export function threadsFor(path: string, requested?: number): number {
  if (requested && requested > 0) return requested;
  return defaultThreads(fileBytes(path), availableParallelism());
}

/** The per-session options: device, threads, logs, and the KV outputs kept on a WebGPU device. */
function sessionOptions(options: OpenOptions, threads: number) {
  return {
    device: options.device,
    deviceId: options.deviceId,
    threads,
    verbose: options.verbose,
    webgpu: options.webgpu,
    keepOnGpu: options.kvOnGpu === false ? undefined : PRESENT,
  };
}

/** The GPU row/length helper, when the session keeps its presents on the GPU. */
function gpuOps(
  opened: { device: ConcreteDevice; gpuOutputs: string[] },
  options: OpenOptions,
): GpuKvOps | undefined {
  if (opened.device !== 'webgpu' || opened.gpuOutputs.length === 0) return undefined;
  return new GpuKvOps((model) => openGpuHelper(model, options.verbose));
}

/** Opens the sessions of any supported layout. */
export async function openModel(
  folder: ModelFolder,
  layout: OnnxLayout,
  options: OpenOptions,
): Promise<OpenedModel> {
  if (layout.kind === 'encoder-decoder') return openSeq2Seq(folder, layout, options);
  const mainPath = layout.kind === 'decoder-split' ? layout.decoderWithPast : layout.model;
  const threads = threadsFor(mainPath, options.threads);
  const opts = sessionOptions(options, threads);
  const main = await openSession(mainPath, opts);
  const first =
    layout.kind === 'decoder-split'
      ? (await openSession(layout.decoder, { ...opts, device: main.device })).session
      : undefined;
  const cfg = folder.config;
  const genai = folder.genaiConfig?.model?.decoder;
  const heads =
    Number(
      cfg.num_key_value_heads ??
        cfg.n_head ??
        cfg.num_attention_heads ??
        genai?.num_key_value_heads ??
        0,
    ) || undefined;
  const attnHeads = Number(
    cfg.num_attention_heads ?? cfg.n_head ?? genai?.num_attention_heads ?? 0,
  );
  const hidden = Number(cfg.hidden_size ?? cfg.n_embd ?? genai?.hidden_size ?? 0);
  const headDim =
    Number(cfg.head_dim ?? genai?.head_size ?? (attnHeads ? hidden / attnHeads : 0)) || undefined;
  const names = genai?.inputs
    ? {
        ids: genai.inputs.input_ids,
        mask: genai.inputs.attention_mask,
        positions: genai.inputs.position_ids,
        logits: genai.outputs?.logits,
      }
    : undefined;
  const runner = new DecoderRunner(
    { main: main.session, first, gpu: gpuOps(main, options) },
    { heads, headDim, vocabSize: folder.vocabSize },
    names,
  );
  return { runner, device: main.device, threads, notice: main.notice };
}

async function openSeq2Seq(
  folder: ModelFolder,
  layout: Extract<OnnxLayout, { kind: 'encoder-decoder' }>,
  options: OpenOptions,
): Promise<OpenedModel> {
  const decoderPath = layout.decoderMerged ?? layout.decoderWithPast ?? layout.decoder!;
  const threads = threadsFor(decoderPath, options.threads);
  const opts = sessionOptions(options, threads);
  const encoder = await openSession(layout.encoder, { ...opts, keepOnGpu: undefined });
  const same = { ...opts, device: encoder.device };
  const merged = layout.decoderMerged !== undefined;
  const opened = await openSession(
    merged ? layout.decoderMerged! : (layout.decoderWithPast ?? layout.decoder!),
    same,
  );
  const decoder = opened.session;
  const firstDecoder =
    !merged && layout.decoderWithPast && layout.decoder
      ? (await openSession(layout.decoder, same)).session
      : undefined;
  const cfg = folder.config;
  const heads =
    Number(cfg.num_heads ?? cfg.decoder_attention_heads ?? cfg.num_attention_heads ?? 0) ||
    undefined;
  const hidden = Number(cfg.d_model ?? cfg.hidden_size ?? 0);
  const headDim = Number(cfg.d_kv ?? (heads ? hidden / heads : 0)) || undefined;
  const runner = new Seq2SeqRunner(
    { encoder: encoder.session, decoder, firstDecoder, gpu: gpuOps(opened, options) },
    { heads, headDim, vocabSize: folder.vocabSize },
  );
  return { runner, device: encoder.device, threads, notice: encoder.notice };
}
