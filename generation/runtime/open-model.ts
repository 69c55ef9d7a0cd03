/**
 * Opens the ONNX sessions a model folder's layout needs, on the chosen device and dtype.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ModelFolder, OnnxLayout } from '../model/model-folder.js';
import { DecoderRunner } from './decoder-runner.js';
import { Seq2SeqRunner } from './seq2seq-runner.js';
import { defaultThreads, openSession, type Device } from './ort.js';

/** Options for opening a model's sessions. */
export interface OpenOptions {
  device?: Device;
  deviceId?: number;
  threads?: number;
}

/** Opened sessions and the figures the user sees. */
export interface OpenedModel {
  runner: DecoderRunner | Seq2SeqRunner;
  device: 'cpu' | 'cuda';
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

/** Opens the sessions of any supported layout. */
export async function openModel(
  folder: ModelFolder,
  layout: OnnxLayout,
  options: OpenOptions,
): Promise<OpenedModel> {
  if (layout.kind === 'encoder-decoder') return openSeq2Seq(folder, layout, options);
  const mainPath = layout.kind === 'decoder-split' ? layout.decoderWithPast : layout.model;
  const threads = threadsFor(mainPath, options.threads);
  const opts = { device: options.device, deviceId: options.deviceId, threads };
  const main = await openSession(mainPath, opts);
  const first =
    layout.kind === 'decoder-split'
      ? (await openSession(layout.decoder, { ...opts, device: main.device })).session
      : undefined;
  const cfg = folder.config;
  const genai = folder.genaiConfig?.model?.decoder as Record<string, any> | undefined;
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
    { main: main.session, first },
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
  const opts = { device: options.device, deviceId: options.deviceId, threads };
  const encoder = await openSession(layout.encoder, opts);
  const same = { ...opts, device: encoder.device };
  const merged = layout.decoderMerged !== undefined;
  const decoder = (
    await openSession(
      merged ? layout.decoderMerged! : (layout.decoderWithPast ?? layout.decoder!),
      same,
    )
  ).session;
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
    { encoder: encoder.session, decoder, firstDecoder },
    { heads, headDim, vocabSize: folder.vocabSize },
  );
  return { runner, device: encoder.device, threads, notice: encoder.notice };
}
