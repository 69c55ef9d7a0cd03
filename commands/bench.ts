/**
 * `textgen bench [--model ID] [-p N,..] [-n N,..] [-d N,..] [-r N]`: llama-bench style speed table.
 * Prompt processing (ppN) and token generation (tgN) at chosen context depths, mean ± sd tokens/s over
 * repetitions after a warm-up, time to first token, peak RSS, and the thread count and device used.
 * stdout carries the markdown table (or --json); progress lines go to stderr.
 */
import { formatBytes } from '../common/format.js';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../generation/errors.js';
import { loadModel, type ModelInfo } from '../generation/index.js';
import type { Command, CommandContext } from './command.js';
import { measure, planTests, positionsNeeded, type BenchResult } from './bench-run.js';
import { intFlag, loadOptionsFrom, MODEL_FLAGS } from './model-options.js';
import { resolveModelDir } from './model-resolution.js';

/** The bench command. */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'Measure prompt processing and generation speed.',
  usage: 'textgen bench [--model ID] [-p N,...] [-n N,...] [-d N,...] [-r N] [--json]',
  allowPositionals: false,
  options: {
    ...MODEL_FLAGS,
    'n-prompt': {
      type: 'string',
      short: 'p',
      valueName: 'N,...',
      description: 'Prompt sizes for pp tests (default 512, cut to fit the context; 0 skips).',
    },
    'n-gen': {
      type: 'string',
      short: 'n',
      valueName: 'N,...',
      description: 'Generated tokens for tg tests (default 128; 0 skips).',
    },
    'n-depth': {
      type: 'string',
      short: 'd',
      valueName: 'N,...',
      description: 'Context depths (tokens already in the cache) (default 0).',
    },
    repetitions: {
      type: 'string',
      short: 'r',
      valueName: 'N',
      description: 'Repetitions per test (default 5).',
    },
    'no-warmup': { type: 'boolean', description: 'Skip the warm-up run before each test.' },
    json: { type: 'boolean', description: 'Print one JSON object instead of the markdown table.' },
  },
  async run(ctx) {
    const reps = intFlag(ctx.values, 'repetitions', 1) ?? 5;
    const depths = listFlag(ctx, 'n-depth') ?? [0];
    const model = await resolveModelDir(ctx);
    const generator = await loadModel(model.dir, loadOptionsFrom(ctx));
    try {
      const info = generator.info;
      if (info.task !== 'text-generation')
        throw new UsageError(
          'bench measures causal LMs (text-generation models).',
          'Time a text-to-text model with `textgen generate --verbose`.',
        );
      const context = info.contextLength;
      const pp = listFlag(ctx, 'n-prompt') ?? [Math.min(512, Math.floor(context / 2))];
      const tg = listFlag(ctx, 'n-gen') ?? [Math.min(128, Math.floor(context / 4))];
      const tests = planTests(pp, tg, depths);
      if (tests.length === 0)
        throw new UsageError('Nothing to measure: every -p and -n size is 0.');
      for (const t of tests) {
        if (positionsNeeded(t) > context)
          throw new UsageError(
            `${t.kind}${t.tokens} at depth ${t.depth} needs ${positionsNeeded(t)} positions; the model's context is ${context}.`,
            'Use smaller -p/-n/-d values.',
          );
      }
      const results: BenchResult[] = [];
      for (const t of tests) {
        ctx.stderr.write(
          `bench: ${t.kind}${t.tokens}${t.depth ? ` @ d${t.depth}` : ''} (${reps} run${reps > 1 ? 's' : ''})\n`,
        );
        results.push(
          await measure(generator, t, reps, ctx.values['no-warmup'] !== true, ctx.signal),
        );
      }
      const peakRss = process.resourceUsage().maxRSS * 1024;
      const bytes = modelBytes(info);
      if (ctx.values.json)
        ctx.stdout.write(
          `${JSON.stringify(jsonReport(model.id, info, bytes, peakRss, reps, results))}\n`,
        );
      else ctx.stdout.write(markdown(model.id, info, bytes, peakRss, results));
      return 0;
    } finally {
      await generator.dispose();
    }
  },
};

/** A comma-separated (or repeated) list of non-negative integers. */
function listFlag(ctx: CommandContext, name: string): number[] | undefined {
  const raw = ctx.values[name];
  if (raw === undefined) return undefined;
  const parts = String(raw)
    .split(',')
    .map((s) => s.trim());
  return parts.map((p) => {
    const n = Number(p);
    if (p === '' || !Number.isInteger(n) || n < 0)
      throw new UsageError(`--${name} takes comma-separated integers >= 0, got '${String(raw)}'.`);
    return n;
  });
}

/** Bytes of the ONNX files and their external weights. */
function modelBytes(info: ModelInfo): number {
  let total = 0;
  for (const file of info.onnxFiles) {
    for (const path of [file, `${file}_data`, `${file}.data`]) {
      try {
        total += statSync(path).size;
      } catch {
        // External weights are optional.
      }
    }
  }
  return total;
}

const pm = (s: { mean: number; sd: number }) => `${s.mean.toFixed(2)} ± ${s.sd.toFixed(2)}`;

function markdown(
  id: string,
  info: ModelInfo,
  bytes: number,
  peakRss: number,
  results: BenchResult[],
): string {
  const name = basename(id);
  const rows = results.map(
    (r) =>
      `| ${name} | ${formatBytes(bytes)} | ${info.dtype} | ${info.device.toUpperCase()} | ${info.threads} | ${r.name} | ${pm(r.tokensPerSecond)} | ${pm(r.ttftMs)} |`,
  );
  return [
    '| model | size | dtype | backend | threads | test | t/s | ttft ms |',
    '| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `device ${info.device}, ${info.threads} intra-op thread(s), peak RSS ${formatBytes(peakRss)}`,
    '',
  ].join('\n');
}

function jsonReport(
  id: string,
  info: ModelInfo,
  bytes: number,
  peakRss: number,
  reps: number,
  results: BenchResult[],
) {
  return {
    model: id,
    model_type: info.modelType,
    dtype: info.dtype,
    device: info.device,
    threads: info.threads,
    model_bytes: bytes,
    context_length: info.contextLength,
    repetitions: reps,
    peak_rss_bytes: peakRss,
    results: results.map((r) => ({
      test: r.name,
      kind: r.kind,
      n_tokens: r.tokens,
      depth: r.depth,
      tokens_per_second: r.tokensPerSecond,
      ttft_ms: r.ttftMs,
      samples: r.samples,
    })),
  };
}
