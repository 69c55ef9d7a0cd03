/**
 * Text for the trainer's progress bar and its end-of-run summary (the command writes them to stderr).
 */
import { formatCount, formatDuration } from '../../common/format.js';
import { progressBar } from '../../common/progress.js';
import type { TrainProgress } from './trainer.js';

/** One progress line: bar, step, loss, validation loss, tokens/s, GFLOP/s and ETA. */
export function progressLine(p: TrainProgress, width = 20): string {
  const bar = progressBar(p.step / p.steps, width);
  const val = p.valLoss === undefined ? '-' : p.valLoss.toFixed(3);
  return `${bar} step ${p.step}/${p.steps}  loss ${p.loss.toFixed(3)}  val ${val}  ${Math.round(p.tokensPerSecond)} tok/s  ${p.gflops.toFixed(2)} GFLOP/s  ETA ${formatDuration(p.etaSeconds)}`;
}

/** The numbers of a finished run, as written to training_summary.json. */
export interface TrainSummary {
  parameters: number;
  tokensSeen: number;
  steps: number;
  wallSeconds: number;
  trainTokens: number;
  valTokens: number;
  valLoss: number;
  valPerplexity: number;
  unigramValLoss: number;
  unigramValPerplexity: number;
  tokensPerSecond: number;
  gflops: number;
  threads: number;
  /** Single-thread mmNN GFLOP/s measured on this machine just before training. */
  matmulGflops: number;
  aborted: boolean;
}

/** The human-readable summary block. */
export function summaryText(s: TrainSummary): string {
  return [
    `parameters       ${formatCount(s.parameters)}`,
    `tokens seen      ${formatCount(s.tokensSeen)} (${s.steps} steps; corpus ${formatCount(s.trainTokens)} train / ${formatCount(s.valTokens)} validation tokens)`,
    `wall time        ${formatDuration(s.wallSeconds)} of training`,
    ...(Number.isFinite(s.valLoss)
      ? [
          `validation loss  ${s.valLoss.toFixed(4)} nats/token, perplexity ${s.valPerplexity.toFixed(2)}`,
          `unigram baseline ${s.unigramValLoss.toFixed(4)} nats/token, perplexity ${s.unigramValPerplexity.toFixed(2)} (same validation tokens)`,
        ]
      : ['validation loss  none (no validation split: --val-fraction 0 or too little text)']),
    `throughput       ${Math.round(s.tokensPerSecond)} tokens/s, ${s.gflops.toFixed(2)} GFLOP/s on ${s.threads} thread(s) (single-thread matmul here: ${s.matmulGflops.toFixed(2)} GFLOP/s)`,
  ].join('\n');
}
