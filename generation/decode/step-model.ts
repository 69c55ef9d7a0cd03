/**
 * What the decode loops (sampling and beam search) need from a model, whatever its family: start a
 * batch of prompts, feed one token per row, reorder rows. Causal LMs and encoder-decoder models
 * implement it over their runners.
 */
import type { DecoderRunner, DecoderState } from '../runtime/decoder-runner.js';
import type { Seq2SeqRunner, Seq2SeqState } from '../runtime/seq2seq-runner.js';

/** A batch being decoded. Logits arrays may be reused by the next call: consume them first. */
export interface StepModel {
  readonly vocabSize: number;
  /** Starts the batch: one row per prompt; returns the first logits [rows × vocab]. */
  start(prompts: number[][]): Promise<Float32Array>;
  /** Feeds one token per row. */
  step(tokens: number[]): Promise<Float32Array>;
  /** New row i is old row rows[i]. */
  reorder(rows: readonly number[]): void;
  /** The ids processors see for a row at the start (causal: the prompt; seq2seq: the decoder start). */
  startIds(prompt: number[]): number[];
  /** Ids that give the detokenizer left context (causal: the prompt; seq2seq: none). */
  textContext(prompt: number[]): number[];
  /** Positions in the context window per row after start (for the length limit). */
  used(prompt: number[]): number;
  dispose(): void;
}

/** Causal LM batches; `reuse` continues a kept chat state whose first `length` positions match. */
export class CausalStepModel implements StepModel {
  state?: DecoderState;
  cachedTokens = 0;

  constructor(
    private readonly runner: DecoderRunner,
    private readonly contextLength: number,
    private readonly pad: number,
    private readonly reuse?: { state: DecoderState; length: number },
  ) {}

  get vocabSize(): number {
    return this.runner.vocabSize;
  }

  async start(prompts: number[][]): Promise<Float32Array> {
    if (this.reuse && prompts.length === 1) {
      this.state = this.reuse.state;
      this.state.rewind(this.reuse.length);
      this.cachedTokens = this.reuse.length;
      return this.runner.forward(this.state, [prompts[0].slice(this.reuse.length)]);
    }
    this.reuse?.state.dispose();
    const width = Math.max(...prompts.map((p) => p.length));
    const tokens = prompts.map((p) => [...new Array(width - p.length).fill(this.pad), ...p]);
    const masks = prompts.map((p) => [...new Array(width - p.length).fill(0), ...p.map(() => 1)]);
    this.state = this.runner.newState(prompts.length, this.contextLength);
    return this.runner.forward(this.state, tokens, masks);
  }

  step(tokens: number[]): Promise<Float32Array> {
    return this.runner.forward(
      this.state!,
      tokens.map((t) => [t]),
    );
  }

  reorder(rows: readonly number[]): void {
    this.state!.reorder(rows);
  }

  startIds(prompt: number[]): number[] {
    return prompt.slice();
  }

  textContext(prompt: number[]): number[] {
    return prompt;
  }

  used(prompt: number[]): number {
    return prompt.length;
  }

  dispose(): void {
    this.state?.dispose();
  }
}

/** Encoder-decoder batches: the encoder runs in start(), then the decoder from decoder_start. */
export class Seq2SeqStepModel implements StepModel {
  private state?: Seq2SeqState;

  constructor(
    private readonly runner: Seq2SeqRunner,
    private readonly contextLength: number,
    private readonly pad: number,
    private readonly decoderStart: number,
  ) {}

  get vocabSize(): number {
    return this.runner.vocabSize;
  }

  async start(prompts: number[][]): Promise<Float32Array> {
    this.state = await this.runner.encode(prompts, this.pad, this.contextLength);
    return this.runner.step(
      this.state,
      prompts.map(() => this.decoderStart),
    );
  }

  step(tokens: number[]): Promise<Float32Array> {
    return this.runner.step(this.state!, tokens);
  }

  reorder(rows: readonly number[]): void {
    this.state!.reorder(rows);
  }

  startIds(): number[] {
    return [this.decoderStart];
  }

  textContext(): number[] {
    return [];
  }

  used(): number {
    return 1;
  }

  dispose(): void {
    this.state?.dispose();
  }
}
