/**
 * The three ways `textgen perplexity` scores text, each a loop of teacher-forced windows over the
 * model's score() API: Hugging Face's sliding window over the whole text, one window per line, and
 * (input, target) pairs for text-to-text models. Each returns summed NLL and scored-token count.
 */
import { InputError } from '../generation/errors.js';
import { slidingWindows, type TextGenerator } from '../generation/index.js';

/** Summed NLL over scored tokens plus what the method covered. */
export interface PerplexityTotals {
  method: 'sliding-window' | 'by-line' | 'text-to-text';
  nll: number;
  tokens: number;
  /** Windows, lines or pairs scored. */
  units: number;
  /** Lines cut to the window length (by-line). */
  truncated?: number;
  /** Set when Ctrl-C stopped the run: the totals cover `units` of `planned`. */
  aborted?: boolean;
  /** Windows, lines or pairs there were to score. */
  planned?: number;
}

/** Called after each window, line or pair. */
export type Progress = (done: number, total: number) => void;

/**
 * HF's "Perplexity of fixed-length models": the whole text tokenized once, windows of maxLength tokens
 * every `stride` tokens, overlapping context not scored (see slidingWindows).
 */
export async function scoreSlidingWindow(
  model: TextGenerator,
  text: string,
  maxLength: number,
  stride: number,
  signal: AbortSignal,
  progress: Progress,
): Promise<PerplexityTotals> {
  const ids = await model.tokenize(text);
  if (ids.length < 2)
    throw new InputError(
      `The text is ${ids.length} token(s); at least 2 are needed to score anything.`,
    );
  const windows = slidingWindows(ids.length, maxLength, stride);
  let nll = 0;
  let tokens = 0;
  for (let i = 0; i < windows.length; i++) {
    if (signal.aborted)
      return {
        method: 'sliding-window',
        nll,
        tokens,
        units: i,
        aborted: true,
        planned: windows.length,
      };
    const w = windows[i];
    const r = await model.score({ ids: ids.slice(w.begin, w.end), scoreFrom: w.scoreFrom });
    nll += r.nll;
    tokens += r.count;
    progress(i + 1, windows.length);
  }
  return { method: 'sliding-window', nll, tokens, units: windows.length };
}

/** Non-empty lines (CR stripped): the units of --by-line and of JSONL pairs. */
export function nonEmptyLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

/**
 * Each non-empty line on its own, starting with the model's BOS (added when the tokenizer does not add
 * it, so the first word is scored too), cut to maxLength tokens, every position after the first scored.
 */
export async function scoreByLine(
  model: TextGenerator,
  text: string,
  maxLength: number,
  signal: AbortSignal,
  progress: Progress,
): Promise<PerplexityTotals> {
  const lines = nonEmptyLines(text);
  const bos = model.info.bosTokenId;
  let nll = 0;
  let tokens = 0;
  let truncated = 0;
  for (let i = 0; i < lines.length; i++) {
    if (signal.aborted)
      return {
        method: 'by-line',
        nll,
        tokens,
        units: i,
        truncated,
        aborted: true,
        planned: lines.length,
      };
    let ids = await model.tokenize(lines[i]);
    if (bos !== undefined && ids[0] !== bos) ids.unshift(bos);
    if (ids.length > maxLength) {
      ids = ids.slice(0, maxLength);
      truncated++;
    }
    if (ids.length >= 2) {
      const r = await model.score({ ids, scoreFrom: 1 });
      nll += r.nll;
      tokens += r.count;
    }
    progress(i + 1, lines.length);
  }
  return { method: 'by-line', nll, tokens, units: lines.length, truncated };
}

/** Parses JSONL lines of {"input": string, "target": string}. */
export function parsePairs(text: string): Array<{ input: string; target: string }> {
  return nonEmptyLines(text).map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new InputError(
        `Line ${i + 1} is not valid JSON.`,
        'Text-to-text models are scored on JSONL lines {"input": ..., "target": ...}.',
      );
    }
    const pair = value as { input?: unknown; target?: unknown };
    if (typeof pair?.input !== 'string' || typeof pair?.target !== 'string') {
      throw new InputError(
        `Line ${i + 1} needs string "input" and "target" fields.`,
        'Text-to-text models are scored on JSONL lines {"input": ..., "target": ...}.',
      );
    }
    return { input: pair.input, target: pair.target };
  });
}

/** Encoder on the input, decoder teacher-forced on [decoder start] + target ids (EOS per tokenizer). */
export async function scorePairs(
  model: TextGenerator,
  text: string,
  signal: AbortSignal,
  progress: Progress,
): Promise<PerplexityTotals> {
  const pairs = parsePairs(text);
  let nll = 0;
  let tokens = 0;
  for (let i = 0; i < pairs.length; i++) {
    if (signal.aborted)
      return {
        method: 'text-to-text',
        nll,
        tokens,
        units: i,
        aborted: true,
        planned: pairs.length,
      };
    const inputIds = await model.tokenize(pairs[i].input);
    const targetIds = await model.tokenize(pairs[i].target);
    const r = await model.score({ inputIds, targetIds });
    nll += r.nll;
    tokens += r.count;
    progress(i + 1, pairs.length);
  }
  return { method: 'text-to-text', nll, tokens, units: pairs.length };
}
