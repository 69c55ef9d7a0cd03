/**
 * Shared helpers of the bench/ comparison scripts (not part of the test suite): argument parsing,
 * seeded prompts, statistics, the machine description, and the two generators under test driven the
 * same way (prompt token ids in, per-step timestamps out).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { env, AutoModelForCausalLM, Tensor, type PreTrainedModel } from '@huggingface/transformers';
import { loadModel, resolveSettings, type TextGenerator } from '../generation/index.js';
import { randomIds, spread } from '../commands/bench-run.js';

export { randomIds, spread };

/** Parses --model, --threads and script-specific string options. */
export function args<T extends string>(
  extra: Record<T, string>,
): { model: string; threads: number } & Record<T, string> {
  const options = Object.fromEntries(
    ['model', 'threads', ...Object.keys(extra)].map((k) => [k, { type: 'string' as const }]),
  );
  const { values } = parseArgs({ options, allowPositionals: false });
  return {
    ...extra,
    ...(values as Record<T, string>),
    model:
      (values.model as string | undefined) ??
      join(import.meta.dirname, '..', '..', 'shared', 'models', 'stories260K-onnx'),
    threads: Number(values.threads ?? 1),
  };
}

/** A comma-separated integer list. */
export function ints(list: string): number[] {
  return list.split(',').map(Number);
}

/** One line describing the machine and its load (the box is shared, so load matters). */
export function machine(): string {
  return `${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}, node ${process.version}`;
}

/** Model shape facts from config.json. */
export function describe(dir: string): string {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  return `${c.model_type}: hidden ${c.hidden_size ?? c.n_embd}, layers ${c.num_hidden_layers ?? c.n_layer}, heads ${c.num_attention_heads ?? c.n_head}/${c.num_key_value_heads ?? c.n_head}, vocab ${c.vocab_size}, context ${c.max_position_embeddings ?? c.n_positions}`;
}

/**
 * Timestamps of one generation: call start, then one per decode step (prefill's token first), with the
 * process's CPU time (µs, all threads) at each step: on a shared machine CPU time per token is the
 * steadier measure of work, wall time the one users feel.
 */
export interface Trace {
  start: number;
  end: number;
  steps: number[];
  cpu: number[];
  /** textgen's own figures, measured where its loop runs (the worker's events reach this thread in batches); rates count every row. */
  stats?: { tokensPerSecond: number; ttftMs: number };
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Time to first token in ms. */
export const ttft = (t: Trace) => t.stats?.ttftMs ?? t.steps[0] - t.start;

/** Decode rate in steps per second, excluding the first (prefill) token. */
export const decodeRate = (t: Trace) =>
  t.stats?.tokensPerSecond ??
  ((t.steps.length - 1) / (t.steps[t.steps.length - 1] - t.steps[0])) * 1000;

/** Generated tokens (all rows) per second over the whole call, prefill included. */
export const endToEndRate = (t: Trace, rows: number) =>
  (rows * t.steps.length * 1000) / (t.end - t.start);

/** Decode steps per CPU-second (process CPU time), excluding the first token. */
export const cpuRate = (t: Trace) =>
  ((t.cpu.length - 1) / (t.cpu[t.cpu.length - 1] - t.cpu[0])) * 1e6;

/** Loads textgen (in-process or worker) with `threads`. */
export function loadTextgen(
  dir: string,
  threads: number,
  inProcess: boolean,
): Promise<TextGenerator> {
  return loadModel(dir, { inProcess, threads });
}

/** Runs textgen on prompt ids: `rows` sequences (sampled when rows > 1), exactly `tokens` new tokens each. */
export async function traceTextgen(
  model: TextGenerator,
  prompt: number[],
  tokens: number,
  rows = 1,
  cpuPerStep = true,
): Promise<Trace> {
  const settings = resolveSettings(
    rows > 1
      ? { do_sample: true, temperature: 1, top_k: 0, seed: 1, num_return_sequences: rows }
      : { temperature: 0 },
    { max_new_tokens: tokens, min_new_tokens: tokens },
  );
  const start = performance.now();
  const steps: number[] = [];
  const cpu: number[] = [];
  let stats: Trace['stats'];
  for await (const e of model.generate({ prompt: '', promptIds: [prompt], settings })) {
    if (e.type === 'token' && e.sequence === 0 && e.id >= 0) {
      steps.push(performance.now());
      if (cpuPerStep) cpu.push(cpuNow());
    } else if (e.type === 'done') {
      stats = { tokensPerSecond: e.stats.tokensPerSecond, ttftMs: e.stats.ttftMs };
    }
  }
  return { start, end: performance.now(), steps, cpu, stats };
}

/** Loads the transformers.js model from the same folder with the same session options. */
export async function loadPeer(
  dir: string,
  threads: number,
  dtype: 'fp32' | 'fp16' | 'q8' | 'q4' = 'fp32',
): Promise<PreTrainedModel> {
  env.allowRemoteModels = false;
  env.localModelPath = join(dir, '..');
  const name = dir.split('/').filter(Boolean).pop()!;
  return AutoModelForCausalLM.from_pretrained(name, {
    dtype,
    device: 'cpu',
    session_options: {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    },
  });
}

/** Runs transformers.js generate on `rows` copies of the prompt (its way to get several sequences). */
export async function tracePeer(
  model: PreTrainedModel,
  prompt: number[],
  tokens: number,
  rows = 1,
): Promise<Trace> {
  const ids = new Tensor(
    'int64',
    BigInt64Array.from(
      Array.from({ length: rows }, () => prompt)
        .flat()
        .map(BigInt),
    ),
    [rows, prompt.length],
  );
  const mask = new Tensor('int64', new BigInt64Array(rows * prompt.length).fill(BigInt(1)), [
    rows,
    prompt.length,
  ]);
  const steps: number[] = [];
  const cpu: number[] = [];
  let first = true;
  const streamer = {
    put() {
      // The first put is the prompt; each later one is a decode step's tokens.
      if (first) first = false;
      else {
        steps.push(performance.now());
        cpu.push(cpuNow());
      }
    },
    end() {},
  };
  const start = performance.now();
  await model.generate({
    input_ids: ids,
    attention_mask: mask,
    max_new_tokens: tokens,
    min_new_tokens: tokens,
    do_sample: rows > 1,
    streamer,
  } as never);
  return { start, end: performance.now(), steps, cpu };
}

/** mean ± sd with a unit. */
export function fmt(values: number[], digits = 1): string {
  const s = spread(values);
  return `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}`;
}

/** A bench script's options as parsed: every option with a default is a string. */
export type Options<D extends Record<string, string | undefined>> = {
  [K in keyof D]: D[K] extends string ? string : string | undefined;
};

/**
 * Parses a bench script's string options, given as name → default (undefined: no default). `--help`
 * prints them with their defaults and exits, so every script starts cheaply to show how to run it.
 */
export function options<D extends Record<string, string | undefined>>(defaults: D): Options<D> {
  const names = Object.keys(defaults);
  if (process.argv.includes('--help')) {
    const usage = names.map(
      (n) => `  --${n}${defaults[n] === undefined ? '' : ` (${defaults[n]})`}`,
    );
    console.log(`options of ${process.argv[1]}:\n${usage.join('\n')}`);
    process.exit(0);
  }
  const spec = Object.fromEntries(
    names.map((n) => [n, { type: 'string' as const, default: defaults[n] }]),
  );
  return parseArgs({ options: spec }).values as Options<D>;
}

/** The median (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `min–max` of repeated measurements (the value alone when there is one). */
export function span(values: number[], digits = 1): string {
  return values.length > 1
    ? `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`
    : values[0].toFixed(digits);
}

/** `median [min–max]` of repeated measurements. */
export function range(values: number[], digits = 2): string {
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  return `${median(values).toFixed(digits)} [${lo.toFixed(digits)}–${hi.toFixed(digits)}]`;
}
