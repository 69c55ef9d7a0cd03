/**
 * `textgen perplexity [--model ID] FILE|-`: scores text with the model. Default method: Hugging Face's
 * sliding window over the whole text (--max-length, --stride); --by-line scores each non-empty line on
 * its own from BOS; text-to-text models score JSONL (input, target) pairs. stdout carries the result
 * (plain or --json); the progress bar goes to stderr.
 */
import { formatDuration } from '../common/format.js';
import { progressBar as bar, progressLine } from '../common/progress.js';
import { readFile } from 'node:fs/promises';
import { AbortedError, InputError, UsageError } from '../generation/errors.js';
import { loadModel, type TextGenerator } from '../generation/index.js';
import type { Command, CommandContext } from './command.js';
import { intFlag, loadOptionsFrom, MODEL_FLAGS } from './model-options.js';
import { resolveModelDir } from './model-resolution.js';
import {
  scoreByLine,
  scorePairs,
  scoreSlidingWindow,
  type PerplexityTotals,
  type Progress,
} from './perplexity-modes.js';
import { readStdin } from './prompt-input.js';

/** The perplexity command. */
export const perplexityCommand: Command = {
  name: 'perplexity',
  summary: 'Score text: cross-entropy and perplexity.',
  usage:
    'textgen perplexity [--model ID] [--max-length N] [--stride N] [--by-line] [--json] FILE|-',
  options: {
    ...MODEL_FLAGS,
    'max-length': {
      type: 'string',
      valueName: 'N',
      description: "Tokens per window (default: the model's context length).",
    },
    stride: {
      type: 'string',
      valueName: 'N',
      description: 'Tokens between window starts (default: half of --max-length).',
    },
    'by-line': {
      type: 'boolean',
      description: 'Score each non-empty line on its own, from BOS, cut to --max-length.',
    },
    json: { type: 'boolean', description: 'Print one JSON object.' },
  },
  async run(ctx) {
    const text = await readInput(ctx);
    const model = await resolveModelDir(ctx);
    const generator = await loadModel(model.dir, loadOptionsFrom(ctx));
    if (generator.info.notice) ctx.stderr.write(`textgen: ${generator.info.notice}\n`);
    try {
      const { totals, maxLength, stride } = await score(generator, ctx, text);
      // Interrupted: what was scored so far is still a result (flagged), then exit 130/143.
      if (totals.aborted && totals.tokens === 0) throw new AbortedError();
      if (totals.tokens === 0)
        throw new InputError('Nothing to score: the text has no token with a preceding context.');
      const meanNll = totals.nll / totals.tokens;
      const result = {
        model: model.id,
        method: totals.method,
        tokens: totals.tokens,
        mean_nll: meanNll,
        bits_per_token: meanNll / Math.LN2,
        perplexity: Math.exp(meanNll),
        ...(totals.method === 'sliding-window'
          ? { max_length: maxLength, stride, windows: totals.units }
          : {}),
        ...(totals.method === 'by-line'
          ? { max_length: maxLength, lines: totals.units, truncated_lines: totals.truncated }
          : {}),
        ...(totals.method === 'text-to-text' ? { pairs: totals.units } : {}),
        ...(totals.aborted ? { interrupted: true, planned: totals.planned } : {}),
      };
      ctx.stdout.write(ctx.values.json ? `${JSON.stringify(result)}\n` : formatPlain(result));
      if (totals.aborted) throw new AbortedError();
      return 0;
    } finally {
      await generator.dispose();
    }
  },
};

async function readInput(ctx: CommandContext): Promise<string> {
  if (ctx.positionals.length !== 1)
    throw new UsageError(
      'Give one FILE to score, or - for stdin.',
      'Example: textgen perplexity --model DIR story.txt',
    );
  const source = ctx.positionals[0];
  if (source === '-') return readStdin(ctx.stdin);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(await readFile(source));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${source}: no such file.`);
    if (code) throw new InputError(`${source}: cannot read (${code}).`);
    throw new InputError(
      `${source} is not valid UTF-8 text.`,
      'Convert it to UTF-8 (e.g. with iconv) and try again.',
    );
  }
}

/** Picks the method from the model's task and the flags, and runs it. */
async function score(
  generator: TextGenerator,
  ctx: CommandContext,
  text: string,
): Promise<{ totals: PerplexityTotals; maxLength: number; stride: number }> {
  const progress = progressBar(ctx.stderr);
  const context = generator.info.contextLength;
  if (generator.info.task === 'text2text-generation') {
    for (const flag of ['max-length', 'stride', 'by-line']) {
      if (ctx.values[flag] !== undefined)
        throw new UsageError(
          `--${flag} does not apply to text-to-text models.`,
          'They are scored on JSONL (input, target) pairs.',
        );
    }
    return {
      totals: await scorePairs(generator, text, ctx.signal, progress),
      maxLength: context,
      stride: context,
    };
  }
  const maxLength = intFlag(ctx.values, 'max-length', 2) ?? context;
  if (maxLength > context)
    throw new UsageError(
      `--max-length ${maxLength} exceeds the model's context of ${context} tokens.`,
    );
  if (ctx.values['by-line']) {
    if (ctx.values.stride !== undefined)
      throw new UsageError('--stride does not apply to --by-line.');
    return {
      totals: await scoreByLine(generator, text, maxLength, ctx.signal, progress),
      maxLength,
      stride: maxLength,
    };
  }
  const stride = intFlag(ctx.values, 'stride', 1) ?? Math.max(1, Math.floor(maxLength / 2));
  if (stride > maxLength)
    throw new UsageError(
      `--stride ${stride} is larger than --max-length ${maxLength}; tokens between windows would never be scored.`,
    );
  return {
    totals: await scoreSlidingWindow(generator, text, maxLength, stride, ctx.signal, progress),
    maxLength,
    stride,
  };
}

/** A redrawn bar on a terminal's stderr once scoring takes over half a second; nothing otherwise. */
function progressBar(stderr: CommandContext['stderr']): Progress {
  if (!stderr.isTTY) return () => {};
  const started = Date.now();
  const line = progressLine(stderr, { quietForMs: 500 });
  return (done, total) => {
    if (done === total) return line.done();
    const eta = ((Date.now() - started) / done) * (total - done);
    line.update(`${bar(done / total)} ${done}/${total}  ETA ${formatDuration(eta / 1000)}`);
  };
}

function formatPlain(r: {
  method: string;
  tokens: number;
  mean_nll: number;
  bits_per_token: number;
  perplexity: number;
  interrupted?: boolean;
  planned?: number;
  windows?: number;
  lines?: number;
  pairs?: number;
}): string {
  const units = r.windows ?? r.lines ?? r.pairs ?? 0;
  return (
    [
      ...(r.interrupted
        ? [
            `interrupted:    scored ${units} of ${r.planned} ${r.method === 'by-line' ? 'lines' : r.method === 'text-to-text' ? 'pairs' : 'windows'} before the stop`,
          ]
        : []),
      `method:         ${r.method}`,
      `tokens scored:  ${r.tokens}`,
      `cross-entropy:  ${r.mean_nll.toFixed(6)} nats/token (${r.bits_per_token.toFixed(6)} bits/token)`,
      `perplexity:     ${r.perplexity.toFixed(4)}`,
    ].join('\n') + '\n'
  );
}
