/**
 * The model as the worker holds it: folder, tokenizer, sessions and the chat KV cache. It turns a
 * generate request into the decode loop's events. It runs inside the worker thread (or in-process for
 * tests and benchmarks); the main thread talks to it through {@link TextGenerator}.
 */
import { InputError } from '../errors.js';
import type { GenerationEvent } from '../events.js';
import {
  inspectModelFolder,
  selectDtype,
  type ModelFolder,
  type OnnxLayout,
} from '../model/model-folder.js';
import { checkCompatibility } from '../model/compatibility.js';
import { openModel, type OpenOptions } from '../runtime/open-model.js';
import { expectedDevice } from '../runtime/ort.js';
import { DecoderRunner, type DecoderState } from '../runtime/decoder-runner.js';
import type { Seq2SeqRunner } from '../runtime/seq2seq-runner.js';
import { totalmem } from 'node:os';
import {
  applyLengthLimits,
  checkGenerationMemory,
  settingsFromModelConfig,
  type GenerationSettings,
  type SettingsLayer,
} from '../settings.js';
import { TextTokenizer } from '../tokenizer/tokenizer.js';
import { beamLoop } from '../decode/beam-loop.js';
import { sampleLoop, type LoopModel } from '../decode/sample-loop.js';
import { CausalStepModel, Seq2SeqStepModel, type StepModel } from '../decode/step-model.js';
import { scoreCausal, scoreSeq2Seq, type ScoreRequest, type ScoreResult } from '../decode/score.js';
import { BatchScheduler, type BatchJob } from '../decode/batch-scheduler.js';
import { DecoderBatchModel } from '../decode/batch-scheduler-rows.js';

/** How a model is loaded. */
export interface LoadOptions extends OpenOptions {
  /** 'auto' or a transformers.js dtype name. */
  dtype?: string;
  /** Decode up to this many concurrent requests as rows of one batch (continuous batching, serve). */
  parallel?: number;
}

/** Facts about the loaded model (see CORE-API). */
export interface ModelInfo {
  dir: string;
  modelType: string;
  architecture: string;
  task: 'text-generation' | 'text2text-generation';
  contextLength: number;
  vocabSize: number;
  dtype: string;
  /** Where it runs; 'remote' for an OpenAI-compatible engine reached with --endpoint. */
  device: 'cpu' | 'cuda' | 'webgpu' | 'remote';
  threads: number;
  chatTemplate?: string;
  /** The engine applies its own chat template to chat messages (remote engines). */
  serverTemplate?: boolean;
  /** For a remote engine: which engine, where, and the model it runs (status lines, --json). */
  remote?: { engine: string; host: string; model: string };
  specialTokens: { bos?: string; eos?: string; unk?: string; pad?: string };
  eosTokenIds: number[];
  bosTokenId?: number;
  generationDefaults: SettingsLayer;
  onnxFiles: string[];
  /** Whether the model keeps a KV cache (otherwise each step recomputes the sequence). */
  cached: boolean;
  /**
   * How the KV cache is kept: 'zero-copy' (textgen's fused graphs: the cache stays in JS memory),
   * 'growing' (optimum exports), 'packed' (genai past_N), 'recompute' (no cache), 'encoder-decoder';
   * absent for a remote engine.
   */
  cacheLayout?: 'zero-copy' | 'growing' | 'packed' | 'recompute' | 'encoder-decoder';
  /** Why the device differs from the one asked for (auto fallback). */
  notice?: string;
}

/** A generate request as the host receives it (the abort check replaces the AbortSignal). */
export interface HostGenerateRequest {
  prompt: string;
  /** Several prompts decoded as one left-padded batch (then `prompt` is ignored). */
  prompts?: string[];
  /** Already-tokenized prompts (benchmarks); they replace `prompt` and `prompts`. */
  promptIds?: number[][];
  settings: GenerationSettings;
  addSpecialTokens?: boolean;
  keepCache?: boolean;
}

/** A loaded model ready to generate. */
export class ModelHost {
  /** Continuous batching (decode/batch-scheduler.ts); set when loaded with `parallel`. */
  batch?: BatchScheduler;
  private chat?: { state: DecoderState };

  private constructor(
    readonly info: ModelInfo,
    readonly folder: ModelFolder,
    readonly tokenizer: TextTokenizer,
    private readonly runner: DecoderRunner | Seq2SeqRunner,
    /** Token ids at or above this have no embedding (an added token beyond the model's table). */
    private readonly vocabRows?: number,
  ) {}

  /** Loads a model folder. */
  static async load(dir: string, options: LoadOptions = {}): Promise<ModelHost> {
    const folder = inspectModelFolder(dir);
    const dtype = selectDtype(
      folder,
      options.dtype,
      await expectedDevice(options.device, options.webgpu),
    );
    const layout = folder.layouts[dtype]!;
    const tokenizer = TextTokenizer.load(dir, folder.tokenizerConfig);
    const compat = checkCompatibility(folder, layout, { baseLimit: tokenizer.baseVocabLimit() });
    const opened = await openModel(folder, layout, options);
    const defaults = modelDefaults(folder);
    const eos = defaults.eos_token_id ?? (tokenizer.eosId !== undefined ? [tokenizer.eosId] : []);
    const info: ModelInfo = {
      dir,
      modelType: folder.modelType,
      architecture: folder.architecture,
      task: folder.task,
      contextLength: compat.contextLength,
      vocabSize: opened.runner.vocabSize,
      // A genai folder names no dtype; its tensors' element type tells.
      dtype:
        layout.kind === 'genai' &&
        opened.runner instanceof DecoderRunner &&
        opened.runner.specs?.[0]?.type === 'float16'
          ? 'fp16'
          : dtype,
      device: opened.device,
      threads: opened.threads,
      chatTemplate:
        typeof folder.tokenizerConfig.chat_template === 'string'
          ? folder.tokenizerConfig.chat_template
          : undefined,
      specialTokens: tokenizer.special,
      eosTokenIds: eos,
      bosTokenId: numberOr(folder.config.bos_token_id, tokenizer.bosId),
      generationDefaults: defaults,
      onnxFiles: openedFiles(layout),
      cached: opened.runner instanceof DecoderRunner ? opened.runner.cached : true,
      cacheLayout:
        opened.runner instanceof DecoderRunner ? opened.runner.layout.kind : 'encoder-decoder',
      notice: opened.notice,
    };
    const host = new ModelHost(info, folder, tokenizer, opened.runner, compat.vocabRows);
    if (options.parallel) host.batch = host.openBatch(options.parallel);
    return host;
  }

  /** The batch scheduler: rows of the causal runner, or whole-model turns for other models. */
  private openBatch(parallel: number): BatchScheduler {
    const facts = {
      vocabSize: this.info.vocabSize,
      decode: (ids: number[]) => this.tokenizer.decodeRaw(ids),
      cleanup: this.tokenizer.cleansUp,
      contextLength: this.info.contextLength,
    };
    if (!(this.runner instanceof DecoderRunner)) return new BatchScheduler(undefined, facts, 1);
    const pad =
      this.info.generationDefaults.pad_token_id ??
      this.tokenizer.padId ??
      this.info.eosTokenIds[0] ??
      0;
    const rows = new DecoderBatchModel(this.runner, this.info.contextLength, pad);
    return new BatchScheduler(rows, facts, parallel);
  }

  /** A request the batch can take as rows: one causal prompt, no beam search, no kept chat cache. */
  private batchJob(request: HostGenerateRequest, isAborted: () => boolean): BatchJob | undefined {
    const texts = request.promptIds ?? request.prompts ?? [request.prompt];
    if (texts.length !== 1 || request.settings.num_beams !== 1 || request.keepCache)
      return undefined;
    const eos = request.settings.eos_token_id ?? this.info.eosTokenIds;
    const prompt = this.promptIds(texts[0], request.addSpecialTokens ?? true);
    const settings = applyLengthLimits(request.settings, prompt.length);
    checkGenerationMemory(settings, 1, prompt.length, this.memoryFacts(), totalmem() / 2);
    return { prompt, settings: { ...settings, eos_token_id: eos }, isAborted };
  }

  /** Tokenizes text as generate() would. */
  tokenize(text: string, addSpecialTokens = true): number[] {
    return this.tokenizer.encode(text, addSpecialTokens);
  }

  /** Decodes ids, skipping special tokens. */
  detokenize(ids: number[]): string {
    return this.tokenizer.decode(ids);
  }

  /**
   * Runs one generation (one prompt or a batch) and yields its events. With a batch scheduler,
   * concurrent calls decode together as rows, and other work waits for the model to itself.
   */
  async *generate(
    request: HostGenerateRequest,
    isAborted: () => boolean,
  ): AsyncGenerator<GenerationEvent> {
    const batch = this.batch;
    if (!batch) return yield* this.generateAlone(request, isAborted);
    const job = batch.batching ? this.batchJob(request, isAborted) : undefined;
    if (job) yield* batch.generate(job);
    else yield* batch.alone(() => this.generateAlone(request, isAborted));
  }

  private async *generateAlone(
    request: HostGenerateRequest,
    isAborted: () => boolean,
  ): AsyncGenerator<GenerationEvent> {
    const texts: Array<string | number[]> = request.promptIds ??
      request.prompts ?? [request.prompt];
    const prompts = texts.map((t) => this.promptIds(t, request.addSpecialTokens ?? true));
    const longest = Math.max(...prompts.map((p) => p.length));
    // max_length/min_length count the prompt (the decoder's start token for text-to-text models).
    const limited = applyLengthLimits(
      request.settings,
      this.runner instanceof DecoderRunner ? longest : 1,
    );
    const settings = {
      ...limited,
      eos_token_id: limited.eos_token_id ?? this.info.eosTokenIds,
    };
    checkGenerationMemory(settings, prompts.length, longest, this.memoryFacts(), totalmem() / 2);
    const pad = settings.pad_token_id ?? this.tokenizer.padId ?? settings.eos_token_id[0] ?? 0;
    const keep =
      Boolean(request.keepCache) &&
      prompts.length === 1 &&
      settings.num_beams === 1 &&
      settings.num_return_sequences === 1;
    const step = this.stepModel(prompts, keep, pad, settings.decoder_start_token_id);
    const model: LoopModel = {
      step,
      decode: (x) => this.tokenizer.decodeRaw(x),
      cleanup: this.tokenizer.cleansUp,
      tokenText: (id) => this.tokenizer.decode([id], false),
      contextLength: this.info.contextLength,
      eosTokenIds: settings.eos_token_id,
      padTokenId: pad,
    };
    const cachedTokens = () => (step instanceof CausalStepModel ? step.cachedTokens : 0);
    const loop = settings.num_beams > 1 ? beamLoop : sampleLoop;
    try {
      yield* loop(model, { prompts, settings, isAborted, cachedTokens });
    } finally {
      if (keep && step instanceof CausalStepModel && step.state && step.state.batch === 1) {
        if (this.chat && this.chat.state !== step.state) this.chat.state.dispose();
        this.chat = { state: step.state };
      } else {
        step.dispose();
      }
    }
  }

  /** What the memory estimate of a generate call needs (settings.ts checkGenerationMemory). */
  private memoryFacts() {
    const runner = this.runner;
    const specs = runner instanceof DecoderRunner ? (runner.specs ?? []) : [];
    return {
      vocabSize: this.info.vocabSize,
      contextLength: this.info.contextLength,
      kvBytesPerToken: specs.reduce(
        (sum, s) =>
          sum +
          s.lead.reduce((a, b) => a * b, 1) * s.heads * s.headDim * (s.type === 'float16' ? 2 : 4),
        0,
      ),
      fullPrefillLogits: runner instanceof DecoderRunner && !runner.trimsLogits,
    };
  }

  /** Teacher-forced NLL of the requested tokens (perplexity); see {@link ScoreRequest}. */
  async score(request: ScoreRequest): Promise<ScoreResult> {
    if ('ids' in request) {
      if (!(this.runner instanceof DecoderRunner))
        throw new InputError(
          'This is a text-to-text model: score (input, target) pairs.',
          'Give JSONL lines {"input": ..., "target": ...}.',
        );
      if (request.ids.length > this.info.contextLength)
        throw new InputError(
          `A window of ${request.ids.length} tokens exceeds the model's context of ${this.info.contextLength} tokens.`,
          'Use a smaller --max-length.',
        );
      if (!Number.isInteger(request.scoreFrom) || request.scoreFrom < 1)
        throw new InputError(`scoreFrom must be an integer >= 1, got ${request.scoreFrom}.`);
      return scoreCausal(this.runner, request.ids, request.scoreFrom, request.perToken);
    }
    if (this.runner instanceof DecoderRunner)
      throw new InputError('This is a causal LM: score token windows, not (input, target) pairs.');
    const defaults = this.info.generationDefaults;
    const start =
      defaults.decoder_start_token_id ??
      defaults.pad_token_id ??
      this.tokenizer.padId ??
      this.info.eosTokenIds[0] ??
      0;
    return scoreSeq2Seq(this.runner, request.inputIds, request.targetIds, start, request.perToken);
  }

  /** Token ids of a prompt, checked against the context window. */
  private promptIds(text: string | number[], addSpecialTokens: boolean): number[] {
    if (typeof text === 'string') this.rejectHugePrompt(text, addSpecialTokens);
    const ids = typeof text === 'string' ? this.tokenize(text, addSpecialTokens) : text.slice();
    if (ids.length === 0) {
      if (this.info.bosTokenId === undefined)
        throw new InputError('The prompt is empty.', 'Pass a prompt as an argument or on stdin.');
      ids.push(this.info.bosTokenId);
    }
    const beyond =
      this.vocabRows === undefined ? undefined : ids.find((id) => id >= this.vocabRows!);
    if (beyond !== undefined)
      throw new InputError(
        `The prompt contains the token ${JSON.stringify(this.tokenizer.decode([beyond], false))} (id ${beyond}), which this model has no embedding for.`,
        'Remove that special token from the prompt; the tokenizer defines it but the model does not.',
      );
    const context = this.info.contextLength;
    if (ids.length >= context) {
      throw new InputError(
        `The prompt is ${ids.length} tokens; the model's context is ${context} tokens.`,
        'Shorten the prompt, or use a model with a longer context.',
      );
    }
    return ids;
  }

  /**
   * Rejects a prompt far beyond the context from a prefix: BPE without a pre-tokenizer (SentencePiece
   * exports) is superlinear in the text length, so a megabyte would take minutes to be refused.
   */
  private rejectHugePrompt(text: string, addSpecialTokens: boolean): void {
    const context = this.info.contextLength;
    const prefix = context * PREFIX_CHARS_PER_TOKEN;
    if (text.length <= prefix) return;
    const head = this.tokenize(text.slice(0, prefix), addSpecialTokens).length;
    if (head >= context + PREFIX_MARGIN)
      throw new InputError(
        `The prompt is over ${head - PREFIX_MARGIN} tokens (${text.length} characters); the model's context is ${context} tokens.`,
        'Shorten the prompt, or use a model with a longer context.',
      );
  }

  /** The step model for this call; a kept chat cache is reused up to the longest common prefix. */
  private stepModel(
    prompts: number[][],
    keep: boolean,
    pad: number,
    decoderStart?: number,
  ): StepModel {
    if (!(this.runner instanceof DecoderRunner)) {
      this.dropChat();
      return new Seq2SeqStepModel(this.runner, this.info.contextLength, pad, decoderStart ?? pad);
    }
    const reuse = keep ? this.reusable(prompts[0]) : undefined;
    if (!reuse) this.dropChat();
    return new CausalStepModel(this.runner, this.info.contextLength, pad, reuse);
  }

  /** The longest cached prefix of `ids` (at least one token is always left to feed). */
  private reusable(ids: number[]): { state: DecoderState; length: number } | undefined {
    if (!this.chat) return undefined;
    const cached = this.chat.state.history[0];
    let n = 0;
    while (n < cached.length && n < ids.length - 1 && cached[n] === ids[n]) n++;
    if (n === 0) return undefined;
    return { state: this.chat.state, length: n };
  }

  private dropChat(): void {
    this.chat?.state.dispose();
    this.chat = undefined;
  }

  /** Frees sessions' caches. */
  dispose(): void {
    this.dropChat();
    this.batch?.dispose();
  }
}

/** Characters per context token in the prefix rejectHugePrompt() tokenizes (tokens are rarely longer). */
const PREFIX_CHARS_PER_TOKEN = 16;
/** Tokens a cut at the prefix's end can merge away, kept out of the bound. */
const PREFIX_MARGIN = 8;

/** The ONNX files the sessions are opened from (a merged decoder makes the split pair unused). */
function openedFiles(layout: OnnxLayout): string[] {
  if (layout.kind === 'fused') return [layout.model];
  if (layout.kind === 'encoder-decoder' && layout.decoderMerged)
    return [layout.encoder, layout.decoderMerged];
  return Object.values(layout).filter(
    (v): v is string => typeof v === 'string' && v.endsWith('.onnx'),
  );
}

function numberOr(value: unknown, fallback?: number): number | undefined {
  return typeof value === 'number' ? value : fallback;
}

/** The model's own defaults: config.json overridden by generation_config.json, or genai's search block. */
export function modelDefaults(folder: ModelFolder): SettingsLayer {
  const genai = folder.genaiConfig;
  const fromGenai: SettingsLayer = {};
  if (genai) {
    const model = genai.model ?? {};
    const search = genai.search ?? {};
    Object.assign(
      fromGenai,
      settingsFromModelConfig({
        eos_token_id: model.eos_token_id,
        pad_token_id: model.pad_token_id,
      }),
    );
    const searchKeys = [
      'top_k',
      'top_p',
      'temperature',
      'repetition_penalty',
      'num_beams',
      'length_penalty',
      'num_return_sequences',
      'no_repeat_ngram_size',
      'do_sample',
      'early_stopping',
    ] as const;
    for (const k of searchKeys)
      if (search[k] !== undefined) (fromGenai as Record<string, unknown>)[k] = search[k];
  }
  const fromConfig = settingsFromModelConfig({
    eos_token_id: folder.config.eos_token_id,
    pad_token_id: folder.config.pad_token_id,
    decoder_start_token_id: folder.config.decoder_start_token_id,
    forced_bos_token_id: folder.config.forced_bos_token_id,
    forced_eos_token_id: folder.config.forced_eos_token_id,
  });
  return { ...fromGenai, ...fromConfig, ...settingsFromModelConfig(folder.generationConfig) };
}
