/**
 * Runs encoder-decoder models (T5, BART, mT5, ...) in the optimum/transformers.js layout: the encoder
 * once per call, then the decoder step by step, either a merged decoder (use_cache_branch) or the older
 * decoder_model + decoder_with_past_model pair. Self-attention K/V grow in a KvCache; cross-attention
 * K/V come from the first decoder step and are reused (later steps' encoder presents are ignored, as
 * merged exports return empty placeholders there).
 */
import { ModelError } from '../errors.js';
import { intTensor } from './decoder-runner.js';
import { isPastInput, kvSpecs, sessionIo, type KvShapeHints, type SessionIo } from './io-names.js';
import { GpuKvCache, GpuTensorSet, gpuLedger, type KvStore } from './gpu-kv-cache.js';
import type { GpuKvOps } from './gpu-kv-ops.js';
import { KvCache, type KvEntrySpec } from './kv-cache.js';
import { lastPositionLogits } from './logits.js';
import { tensor, type ElementType, type Session, type Tensor } from './ort.js';

/** The sessions of an encoder-decoder model. */
export interface Seq2SeqSessions {
  encoder: Session;
  /** Merged decoder, or the with-past decoder of a split pair. */
  decoder: Session;
  /** The no-past decoder of a split pair (first step). */
  firstDecoder?: Session;
  /** Set when the decoders leave their presents on a WebGPU device (self and cross K/V stay there). */
  gpu?: GpuKvOps;
}

/** Per-call state: encoder outputs, masks and caches of every row. */
export class Seq2SeqState {
  cross: Record<string, Tensor> = {};
  encoderMask!: Tensor;
  hidden!: Tensor;
  /** Cross-attention K/V kept on the GPU (instead of `cross`). */
  readonly crossGpu?: GpuTensorSet;

  constructor(
    readonly cache: KvStore,
    gpu?: GpuKvOps,
  ) {
    if (gpu) this.crossGpu = new GpuTensorSet(gpu);
  }

  /** The cross K/V input `name` (host or GPU). */
  crossInput(name: string): Tensor {
    return this.crossGpu?.get(name) ?? this.cross[name];
  }

  /** Applies recorded GPU reorders before the next step. */
  async settle(): Promise<void> {
    await this.cache.settle?.();
    await this.crossGpu?.settle();
  }

  /** Rows in the batch. */
  get batch(): number {
    return this.cache.batch;
  }

  /** New row i is old row rows[i]; encoder outputs and cross K/V follow. */
  reorder(rows: readonly number[]): void {
    this.cache.reorder(rows);
    this.hidden = gatherRows(this.hidden, rows);
    this.encoderMask = gatherRows(this.encoderMask, rows);
    for (const k of Object.keys(this.cross)) this.cross[k] = gatherRows(this.cross[k], rows);
    this.crossGpu?.reorder(rows);
  }

  /** Frees the caches. */
  dispose(): void {
    this.cache.dispose();
    this.crossGpu?.clear();
  }
}

/** Copies rows (first dimension) of a tensor into a new tensor. */
function gatherRows(t: Tensor, rows: readonly number[]): Tensor {
  const dims = t.dims;
  const rowSize = dims.slice(1).reduce((a, b) => a * b, 1);
  // One concrete typed-array type stands for all three: they share subarray/set, element-wise.
  const src = t.data as Float32Array;
  const Ctor = src.constructor as new (n: number) => Float32Array;
  const out = new Ctor(rows.length * rowSize);
  rows.forEach((r, i) => out.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return tensor(t.type as ElementType, out, [rows.length, ...dims.slice(1)]);
}

/** Step-by-step execution of one encoder-decoder model. */
export class Seq2SeqRunner {
  readonly vocabSize: number;
  private readonly decoderIo: SessionIo;
  private readonly encoderIo: SessionIo;
  private readonly selfSpecs: KvEntrySpec[];
  private readonly crossNames: string[];

  constructor(
    private readonly sessions: Seq2SeqSessions,
    hints: KvShapeHints & { vocabSize: number },
  ) {
    this.encoderIo = sessionIo(sessions.encoder);
    this.decoderIo = sessionIo(sessions.decoder);
    const past = [...this.decoderIo.inputs.keys()].filter(isPastInput);
    if (!this.decoderIo.outputs.has('logits'))
      throw new ModelError(
        'The decoder has no logits output.',
        'Re-export the model for text2text generation.',
      );
    this.selfSpecs = kvSpecs(
      this.decoderIo,
      past.filter((n) => !n.includes('.encoder.')),
      hints,
    );
    this.crossNames = past.filter((n) => n.includes('.encoder.'));
    const shape = this.decoderIo.outputs.get('logits')!.shape;
    this.vocabSize =
      typeof shape[shape.length - 1] === 'number'
        ? (shape[shape.length - 1] as number)
        : hints.vocabSize;
  }

  /** Runs the encoder on right-padded prompts and returns the state for decoding. */
  async encode(prompts: number[][], pad: number, maxLength: number): Promise<Seq2SeqState> {
    const width = Math.max(...prompts.map((p) => p.length));
    const ids = prompts.flatMap((p) => [...p, ...new Array(width - p.length).fill(pad)]);
    const mask = prompts.flatMap((p) => [
      ...p.map(() => 1),
      ...new Array(width - p.length).fill(0),
    ]);
    const dims = [prompts.length, width];
    const feeds: Record<string, Tensor> = {};
    const inputs = this.encoderIo.inputs;
    feeds.input_ids = intTensor(inputs.get('input_ids')?.type ?? 'int64', ids, dims);
    const maskTensor = intTensor(inputs.get('attention_mask')?.type ?? 'int64', mask, dims);
    if (inputs.has('attention_mask')) feeds.attention_mask = maskTensor;
    const out = await this.sessions.encoder.run(feeds);
    const gpu = this.sessions.gpu;
    const state = new Seq2SeqState(
      gpu
        ? new GpuKvCache(this.selfSpecs, prompts.length, gpu)
        : new KvCache(this.selfSpecs, prompts.length, Math.min(64, maxLength), maxLength),
      gpu,
    );
    state.hidden = out.last_hidden_state ?? Object.values(out)[0];
    state.encoderMask = intTensor(
      this.decoderIo.inputs.get('encoder_attention_mask')?.type ?? 'int64',
      mask,
      dims,
    );
    return state;
  }

  /** Feeds one decoder token per row and returns the logits [batch × vocab]. */
  async step(state: Seq2SeqState, tokens: number[]): Promise<Float32Array> {
    await state.settle();
    const first = state.cache.length === 0;
    const session =
      first && this.sessions.firstDecoder ? this.sessions.firstDecoder : this.sessions.decoder;
    const io = session === this.sessions.decoder ? this.decoderIo : sessionIo(session);
    const feeds: Record<string, Tensor> = {
      input_ids: intTensor(io.inputs.get('input_ids')?.type ?? 'int64', tokens, [tokens.length, 1]),
    };
    if (io.inputs.has('encoder_attention_mask')) feeds.encoder_attention_mask = state.encoderMask;
    if (io.inputs.has('encoder_hidden_states')) feeds.encoder_hidden_states = state.hidden;
    if (io.inputs.has('use_cache_branch'))
      feeds.use_cache_branch = tensor('bool', Uint8Array.of(first ? 0 : 1), [1]);
    if (session === this.sessions.decoder) {
      Object.assign(feeds, state.cache.feeds());
      for (const name of this.crossNames)
        feeds[name] = first ? this.emptyCross(name, tokens.length) : state.crossInput(name);
    }
    const fetches: Record<string, Tensor | null> = { logits: null, ...state.cache.fetches(1) };
    // On the GPU the cross presents are fetched every step and the later (empty) ones dropped: left
    // unfetched, ONNX Runtime 1.30 writes the merged decoder's If output into the fed past's buffer
    // and fails on the shape.
    if (first || state.crossGpu)
      for (const name of this.crossNames) fetches[presentOf(name)] = null;
    const out = await session.run(feeds, fetches as Record<string, Tensor>);
    state.cache.update(1, out);
    for (const name of this.crossNames) {
      const present = out[presentOf(name)];
      if (!present) continue;
      if (!first) gpuLedger.discard(present);
      else if (state.crossGpu) state.crossGpu.set(name, present, 0);
      else state.cross[name] = present;
    }
    return lastPositionLogits(out.logits, tokens.length);
  }

  /**
   * Teacher-forced decoder pass over `decoderIds` (scoring): the encoder runs on `inputIds`, then the
   * decoder sees the whole sequence from an empty cache. Returns the logits of every decoder position,
   * [decoderIds.length × vocab] float32 or float16 bits; only the logits are fetched.
   */
  async sequenceLogits(
    inputIds: number[],
    decoderIds: number[],
  ): Promise<{ data: Float32Array | Uint16Array; vocab: number }> {
    const state = await this.encode([inputIds], 0, 1);
    try {
      const session = this.sessions.firstDecoder ?? this.sessions.decoder;
      const io = session === this.sessions.decoder ? this.decoderIo : sessionIo(session);
      const feeds: Record<string, Tensor> = {
        input_ids: intTensor(io.inputs.get('input_ids')?.type ?? 'int64', decoderIds, [
          1,
          decoderIds.length,
        ]),
      };
      if (io.inputs.has('encoder_attention_mask')) feeds.encoder_attention_mask = state.encoderMask;
      if (io.inputs.has('encoder_hidden_states')) feeds.encoder_hidden_states = state.hidden;
      if (io.inputs.has('use_cache_branch'))
        feeds.use_cache_branch = tensor('bool', Uint8Array.of(0), [1]);
      if (session === this.sessions.decoder) {
        Object.assign(feeds, state.cache.feeds());
        for (const name of this.crossNames) feeds[name] = this.emptyCross(name, 1);
      }
      const out = (await session.run(feeds, ['logits'])).logits;
      return { data: out.data as Float32Array | Uint16Array, vocab: out.dims[out.dims.length - 1] };
    } finally {
      state.dispose();
    }
  }

  private emptyCross(name: string, batch: number): Tensor {
    const spec = this.decoderIo.inputs.get(name)!;
    const dims = spec.shape.map((d, i) => (i === 0 ? batch : typeof d === 'number' ? d : 0));
    return tensor(
      spec.type,
      spec.type === 'float16' ? new Uint16Array(0) : new Float32Array(0),
      dims,
    );
  }
}

function presentOf(past: string): string {
  return past.replace(/^past_key_values/, 'present');
}
