/**
 * The {@link BatchStepModel} of today's runtime: rows of one DecoderState (KV cache, attention masks,
 * per-row positions) that join and leave between decode steps. A joining request is prefilled in a
 * batch-1 state of its own (bit for bit what `generate` runs), then spliced in: every row is
 * right-aligned to the longest one, the gap left-padded with zeros under mask 0, so each row keeps its
 * own positions and attends only to its own tokens. A leaving row is cut out, and padding that every
 * remaining row has in common is trimmed away. Graphs without attention_mask or position_ids cannot
 * hold rows of different lengths, and a cache kept on a GPU (WebGPU) is not spliced here: those run
 * in 'static' mode.
 *
 * This is the only file that knows the runtime's state layout; the growing cache is reached through
 * KvCache.pasts()/rebuild(), other host caches (the zero-copy one) through DecoderState.appendRows.
 */
import type { DecoderRunner, DecoderState } from '../runtime/decoder-runner.js';
import { KvCache, type KvEntrySpec } from '../runtime/kv-cache.js';
import type { BatchStepModel } from './batch-scheduler.js';

type Buffer = Float32Array | Uint16Array;

/** Rows of one cache block: its shape and which positions of each row to keep. */
interface Block {
  spec: KvEntrySpec;
  data: Buffer;
  batch: number;
  length: number;
  /** Leading positions of every row to leave out. */
  skip: number;
}

/**
 * Copies the rows of `src` into `dst` ([...lead, dstBatch, heads, dstLength, headDim]) from row
 * `dstRow` on, each right-aligned so its last position lands on the last position of `dst`.
 */
function place(dst: Buffer, dstBatch: number, dstLength: number, dstRow: number, src: Block): void {
  const { heads, headDim } = src.spec;
  const outer = src.spec.lead.reduce((a, b) => a * b, 1);
  const kept = (src.length - src.skip) * headDim;
  const shift = (dstLength - (src.length - src.skip)) * headDim;
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < src.batch; r++) {
      for (let h = 0; h < heads; h++) {
        const from = ((o * src.batch + r) * heads + h) * src.length * headDim + src.skip * headDim;
        const to = ((o * dstBatch + dstRow + r) * heads + h) * dstLength * headDim + shift;
        dst.set(src.data.subarray(from, from + kept), to);
      }
    }
  }
}

function leftPad<T>(rows: T[][], width: number, fill: T): T[][] {
  return rows.map((row) => [...new Array<T>(width - row.length).fill(fill), ...row]);
}

function leadingZeros(mask: number[]): number {
  let n = 0;
  while (n < mask.length && mask[n] === 0) n++;
  return n;
}

/** Rows of one causal LM decoding together. */
export class DecoderBatchModel implements BatchStepModel {
  readonly mode: 'continuous' | 'static';
  readonly padding: boolean;
  private state?: DecoderState;

  constructor(
    private readonly runner: DecoderRunner,
    private readonly contextLength: number,
    private readonly pad: number,
  ) {
    const { mask, positions, hostCache } = runner.rowInputs;
    this.padding = mask && positions;
    this.mode = this.padding && hostCache ? 'continuous' : 'static';
  }

  get vocabSize(): number {
    return this.runner.vocabSize;
  }

  /** Rows in the batch. */
  get rows(): number {
    return this.state?.batch ?? 0;
  }

  /** Positions held per row (the longest row's length). */
  get length(): number {
    return this.state?.length ?? 0;
  }

  async add(prompts: number[][], copies: number[]): Promise<Float32Array> {
    if (this.mode === 'static') return this.start(prompts, copies);
    const vocab = this.vocabSize;
    const out = new Float32Array(copies.reduce((a, b) => a + b, 0) * vocab);
    const fresh: DecoderState[] = [];
    let at = 0;
    try {
      for (let i = 0; i < prompts.length; i++) {
        const state = this.runner.newState(1, this.contextLength);
        fresh.push(state);
        const logits = await this.runner.forward(state, [prompts[i]]);
        for (let c = 0; c < copies[i]; c++) out.set(logits.subarray(0, vocab), vocab * at++);
        if (copies[i] > 1) state.reorder(new Array<number>(copies[i]).fill(0));
      }
    } catch (error) {
      for (const state of fresh) state.dispose();
      throw error;
    }
    for (const state of fresh) this.join(state);
    return out;
  }

  step(tokens: number[]): Promise<Float32Array> {
    return this.runner.forward(
      this.state!,
      tokens.map((t) => [t]),
    );
  }

  drop(rows: number[]): void {
    const state = this.state;
    if (!state || rows.length === 0) return;
    const gone = new Set(rows);
    const keep = state.masks.map((_, r) => r).filter((r) => !gone.has(r));
    if (keep.length === 0) {
      state.dispose();
      this.state = undefined;
      return;
    }
    state.reorder(keep);
    const skip = Math.min(...state.masks.map(leadingZeros));
    if (skip > 0 && (!state.cache || state.cache instanceof KvCache)) this.trim(state, skip);
  }

  dispose(): void {
    this.state?.dispose();
    this.state = undefined;
  }

  /** Static mode: the whole batch starts together, left-padded when the graph allows it. */
  private async start(prompts: number[][], copies: number[]): Promise<Float32Array> {
    if (this.state) throw new Error('a static batch takes new rows only when it is empty');
    const width = Math.max(...prompts.map((p) => p.length));
    const tokens = leftPad(prompts, width, this.pad);
    const masks = leftPad(
      prompts.map((p) => p.map(() => 1)),
      width,
      0,
    );
    const state = this.runner.newState(prompts.length, this.contextLength);
    let logits: Float32Array;
    try {
      logits = await this.runner.forward(state, tokens, this.padding ? masks : undefined);
    } catch (error) {
      state.dispose();
      throw error;
    }
    const origin = copies.flatMap((n, i) => new Array<number>(n).fill(i));
    const vocab = this.vocabSize;
    const out = new Float32Array(origin.length * vocab);
    origin.forEach((r, i) => out.set(logits.subarray(r * vocab, (r + 1) * vocab), i * vocab));
    state.reorder(origin);
    this.state = state;
    return out;
  }

  /** Appends the rows of `add` to the batch, right-aligning every row to the longer of the two. */
  private join(add: DecoderState): void {
    const main = this.state;
    if (!main) {
      this.state = add;
      return;
    }
    if (!(main.cache instanceof KvCache) && main.cache?.appendRows) {
      // Caches other than KvCache (the fused graphs' zero-copy cache) splice rows themselves, each
      // row keeping its slots from 0 and the shorter side masked after its end.
      main.appendRows(add);
      add.dispose();
      return;
    }
    const [rowsA, lengthA, rowsB, lengthB] = [main.batch, main.length, add.batch, add.length];
    const width = Math.max(lengthA, lengthB);
    if (main.cache instanceof KvCache && add.cache instanceof KvCache) {
      const a = main.cache.pasts();
      const b = add.cache.pasts();
      main.cache.rebuild(rowsA + rowsB, width, (i, fresh) => {
        const { spec } = a[i];
        place(fresh, rowsA + rowsB, width, 0, {
          spec,
          data: a[i].data,
          batch: rowsA,
          length: lengthA,
          skip: 0,
        });
        place(fresh, rowsA + rowsB, width, rowsA, {
          spec,
          data: b[i].data,
          batch: rowsB,
          length: lengthB,
          skip: 0,
        });
      });
    }
    main.masks = leftPad([...main.masks, ...add.masks], width, 0);
    main.history = leftPad([...main.history, ...add.history], width, this.pad);
    main.nextPositions = [...main.nextPositions, ...add.nextPositions];
    add.dispose();
  }

  /** Drops the first `skip` positions of every row (padding that all rows share). */
  private trim(state: DecoderState, skip: number): void {
    const [rows, length] = [state.batch, state.length];
    if (state.cache instanceof KvCache) {
      const pasts = state.cache.pasts();
      state.cache.rebuild(rows, length - skip, (i, fresh) => {
        const { spec, data } = pasts[i];
        place(fresh, rows, length - skip, 0, { spec, data, batch: rows, length, skip });
      });
    }
    state.masks = state.masks.map((m) => m.slice(skip));
    state.history = state.history.map((h) => h.slice(skip));
  }
}
