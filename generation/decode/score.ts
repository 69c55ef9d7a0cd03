/**
 * Teacher-forced scoring (perplexity): the negative log-likelihood of given tokens under the model,
 * computed from one full forward per window. The log-softmax runs in float64 over float32 (or fp16)
 * logits, row by row, straight from the runner's output, so no extra [positions × vocab] copy is made.
 */
import { halfToFloat } from '../../common/float16.js';
import { logSumExp } from '../softmax.js';
import type { DecoderRunner } from '../runtime/decoder-runner.js';
import type { Seq2SeqRunner } from '../runtime/seq2seq-runner.js';

/**
 * What to score. Causal: `ids` is one window fed from position 0, and the tokens at indices
 * scoreFrom..end are scored (each predicted from everything before it; scoreFrom ≥ 1). Text-to-text:
 * the encoder reads `inputIds` and the decoder is teacher-forced on [decoder start] + targetIds, every
 * target token scored.
 */
export type ScoreRequest =
  | { ids: number[]; scoreFrom: number; perToken?: boolean }
  | { inputIds: number[]; targetIds: number[]; perToken?: boolean };

/** Summed NLL (natural log) of the scored tokens, their count, and per-token NLLs when asked. */
export interface ScoreResult {
  nll: number;
  count: number;
  tokenNll?: number[];
}

/** One sliding window: absolute token range [begin, end) and the window-relative first scored index. */
export interface ScoreWindow {
  begin: number;
  end: number;
  scoreFrom: number;
}

/**
 * The windows of Hugging Face's "Perplexity of fixed-length models" recipe: begin = 0, stride,
 * 2·stride, …; end = min(begin + maxLength, n); the last trg_len = end − prev_end positions are the
 * labels, the rest is context only. A label at window index 0 has no context (the model shifts labels
 * by one), so scoring starts at index max(1, length − trg_len). With stride < maxLength every token
 * but the first is scored exactly once; with stride = maxLength the first token of each window has no
 * context and is skipped, as in the recipe.
 */
export function slidingWindows(n: number, maxLength: number, stride: number): ScoreWindow[] {
  if (!Number.isInteger(maxLength) || maxLength < 2)
    throw new RangeError(`maxLength must be an integer >= 2, got ${maxLength}`);
  if (!Number.isInteger(stride) || stride < 1 || stride > maxLength)
    throw new RangeError(`stride must be an integer in 1..maxLength, got ${stride}`);
  const windows: ScoreWindow[] = [];
  let prevEnd = 0;
  for (let begin = 0; begin < n; begin += stride) {
    const end = Math.min(begin + maxLength, n);
    const targets = end - prevEnd;
    windows.push({ begin, end, scoreFrom: Math.max(1, end - begin - targets) });
    prevEnd = end;
    if (end === n) break;
  }
  return windows.filter((w) => w.end - w.begin > w.scoreFrom);
}

let rowScratch: Float32Array | undefined;

/**
 * −log softmax(row)[target] in float64, for row `row` of a [rows × vocab] float32 or float16-bits
 * buffer: logsumexp(x) − x[target], with the max subtracted first for stability.
 */
export function tokenNll(
  data: Float32Array | Uint16Array,
  row: number,
  vocab: number,
  target: number,
): number {
  if (target < 0 || target >= vocab)
    throw new RangeError(`token id ${target} is outside the model's vocabulary (${vocab})`);
  let x: Float32Array | Uint16Array = data;
  let offset = row * vocab;
  if (data instanceof Uint16Array) {
    if (!rowScratch || rowScratch.length !== vocab) rowScratch = new Float32Array(vocab);
    x = halfToFloat(data, rowScratch, offset, vocab);
    offset = 0;
  }
  return logSumExp(x, offset, vocab) - x[offset + target];
}

/** Sums the NLL of `targets`, target i read from logits row i. */
function sumRows(
  data: Float32Array | Uint16Array,
  vocab: number,
  targets: number[],
  perToken?: boolean,
): ScoreResult {
  let nll = 0;
  const tokens: number[] = [];
  for (let i = 0; i < targets.length; i++) {
    const v = tokenNll(data, i, vocab, targets[i]);
    nll += v;
    if (perToken) tokens.push(v);
  }
  return { nll, count: targets.length, ...(perToken ? { tokenNll: tokens } : {}) };
}

/** Scores one causal window: logits at positions scoreFrom−1 … n−2 predict ids[scoreFrom … n−1]. */
export async function scoreCausal(
  runner: DecoderRunner,
  ids: number[],
  scoreFrom: number,
  perToken?: boolean,
): Promise<ScoreResult> {
  const targets = ids.slice(scoreFrom);
  if (targets.length === 0) return { nll: 0, count: 0, ...(perToken ? { tokenNll: [] } : {}) };
  // The last position predicts a token past the window: ask for one extra row and drop it.
  const { data, vocab } = await runner.sequenceLogits(ids, targets.length + 1);
  return sumRows(data, vocab, targets, perToken);
}

/** Scores a target given an input: decoder fed [start, …target minus its last id]; row i predicts target[i]. */
export async function scoreSeq2Seq(
  runner: Seq2SeqRunner,
  inputIds: number[],
  targetIds: number[],
  decoderStart: number,
  perToken?: boolean,
): Promise<ScoreResult> {
  if (targetIds.length === 0) return { nll: 0, count: 0, ...(perToken ? { tokenNll: [] } : {}) };
  const { data, vocab } = await runner.sequenceLogits(inputIds, [
    decoderStart,
    ...targetIds.slice(0, -1),
  ]);
  return sumRows(data, vocab, targetIds, perToken);
}
