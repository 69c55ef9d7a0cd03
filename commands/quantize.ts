/**
 * `textgen quantize MODEL [--dtype q4|q8|int8] [--block-size N] [--head MODE]`: writes a quantized
 * variant of the model's fp32 ONNX files beside them (model_q4.onnx, model_quantized.onnx,
 * model_int8.onnx) plus quantize_report.json, then loads it and times a decode step against the
 * source. Progress and warnings go to stderr; stdout gets the summary (or --json, the report entry).
 */
import { UsageError } from '../generation/errors.js';
import { quantizeModel, type QuantizeEvent } from '../generation/index.js';
import { resolveModel } from '../models-cache/resolve.js';
import type { Command, CommandContext } from './command.js';
import { intFlag } from './model-options.js';
import { formatBytes } from './models-format.js';
import { progressBar, progressLine } from '../common/progress.js';

const DTYPES = ['q4', 'q8', 'int8'] as const;
const HEADS = ['q8', 'q4', 'fp32'] as const;

/** The quantize command. */
export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'Write a 4- or 8-bit variant of a model beside its fp32 ONNX files.',
  usage:
    'textgen quantize MODEL [--dtype q4|q8|int8] [--block-size N] [--head q8|q4|fp32] [--force] [--json]',
  options: {
    dtype: {
      type: 'string',
      valueName: 'DTYPE',
      description:
        'q4 (default: 4-bit blocks, model_q4.onnx), q8 (8-bit blocks, model_quantized.onnx) or int8 (dynamic int8, fastest prompt processing, model_int8.onnx).',
    },
    'block-size': {
      type: 'string',
      valueName: 'N',
      description: 'Weights per scale for q4/q8: a power of two ≥ 16 (default 32).',
    },
    head: {
      type: 'string',
      valueName: 'MODE',
      description:
        'LM head and token embedding: q8 (default: per-channel int8, fast for prompts too), q4 or fp32.',
    },
    force: {
      type: 'boolean',
      description: 'Replace an existing variant file that textgen did not write.',
    },
    'no-check': {
      type: 'boolean',
      description: 'Skip loading the result and timing it against the source.',
    },
    json: { type: 'boolean', description: 'Print the report entry as JSON on stdout.' },
  },
  async run(ctx) {
    if (ctx.positionals.length !== 1)
      throw new UsageError(
        'Give one model: textgen quantize MODEL.',
        `Usage: ${quantizeCommand.usage}`,
      );
    const dtype = choice(ctx, 'dtype', DTYPES) ?? 'q4';
    const head = choice(ctx, 'head', HEADS);
    const blockSize = intFlag(ctx.values, 'block-size') ?? 32;
    if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
      throw new UsageError(`--block-size must be a power of two ≥ 16, got ${blockSize}.`);
    const model = resolveModel(ctx.positionals[0], { env: ctx.env });
    const render = renderer(ctx);
    for await (const event of quantizeModel({
      dir: model.dir,
      dtype,
      blockSize,
      head,
      force: Boolean(ctx.values.force),
      check: !ctx.values['no-check'],
      signal: ctx.signal,
    }))
      render(event);
    return 0;
  },
};

function choice<T extends string>(
  ctx: CommandContext,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  const value = ctx.values[flag] as string | undefined;
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T))
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${value}'.`);
  return value as T;
}

/** Draws progress on stderr (the one progress line: a redrawn bar on a terminal) and the result on stdout. */
function renderer(ctx: CommandContext): (event: QuantizeEvent) => void {
  // Only a terminal shows the bar: quantizing is short, and logs get the per-file lines.
  const line = progressLine(ctx.stderr, { plainEveryMs: Infinity });
  return (event) => {
    switch (event.type) {
      case 'start':
        line.log(
          `Quantizing to ${event.dtype}: ${event.files.map((f) => `${f.source} → ${f.target}`).join(', ')}`,
        );
        break;
      case 'progress':
        line.update(
          `  ${event.file}  ${progressBar(event.written / Math.max(1, event.total))} ${formatBytes(event.written)}/${formatBytes(event.total)}`,
        );
        break;
      case 'written':
        line.log(
          `  ${event.file}: ${formatBytes(event.bytesAfter)} (${((event.bytesAfter / event.bytesBefore) * 100).toFixed(0)}% of ${formatBytes(event.bytesBefore)}), ${event.rewrites} nodes rewritten`,
        );
        break;
      case 'checking':
        line.log(`Checking: loading the variant and timing a decode step of ${event.file}...`);
        break;
      case 'warning':
        line.log(`textgen: warning: ${event.message}`);
        break;
      case 'done':
        ctx.stdout.write(
          ctx.values.json ? `${JSON.stringify(event.record, null, 2)}\n` : summary(event),
        );
        break;
    }
  };
}

function summary(event: Extract<QuantizeEvent, { type: 'done' }>): string {
  const r = event.record;
  const before = r.files.reduce((a, f) => a + f.bytesBefore, 0);
  const after = r.files.reduce((a, f) => a + f.bytesAfter, 0);
  const weights = r.files.flatMap((f) => f.weights);
  const worst = weights.reduce((m, w) => Math.max(m, ...w.relError), 0);
  const lines = [
    `dtype:    ${r.dtype} (head ${r.head}${r.dtype === 'int8' ? '' : `, block ${r.blockSize}`})`,
    `files:    ${r.files.map((f) => f.file).join(', ')}`,
    `size:     ${formatBytes(after)} (${((after / before) * 100).toFixed(1)}% of ${formatBytes(before)})`,
    `weights:  ${weights.length} quantized, worst relative RMS error ${(worst * 100).toFixed(2)}%`,
  ];
  const t = r.check?.timed;
  if (t) {
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    const s = median(t.sourceMs);
    const v = median(t.variantMs);
    lines.push(
      `decode:   ${v.toFixed(2)} ms/step vs ${s.toFixed(2)} ms fp32 at context ${t.context} (${(s / v).toFixed(2)}×, median of ${t.variantMs.length})`,
    );
  }
  if (r.check) lines.push(`I/O:      ${r.check.signatureDiff.length ? 'CHANGED' : 'unchanged'}`);
  lines.push(`report:   ${event.reportPath}`);
  return `${lines.join('\n')}\n`;
}
