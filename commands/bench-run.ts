/**
 * The measurements behind `textgen bench`, llama-bench style: prompt processing (pp N: one prefill of N
 * tokens on top of a cached context of depth d) and token generation (tg N: N single-token decode steps
 * after a context of depth d), with seeded random token ids so the model's text never matters.
 */
import { AbortedError } from '../generation/errors.js';
import {
  createRng,
  resolveSettings,
  type GenerationStats,
  type TextGenerator,
} from '../generation/index.js';

/** One test of the table. */
export interface BenchTest {
  kind: 'pp' | 'tg';
  tokens: number;
  depth: number;
}

/** Mean and sample standard deviation. */
export interface Spread {
  mean: number;
  sd: number;
}

/** A finished test: rates in tokens/s and time to first token per repetition. */
export interface BenchResult extends BenchTest {
  name: string;
  tokensPerSecond: Spread;
  ttftMs: Spread;
  samples: number[];
}

/** Mean ± sample standard deviation (0 for one value). */
export function spread(values: number[]): Spread {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd =
    values.length > 1
      ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1))
      : 0;
  return { mean, sd };
}

/** The llama-bench test name: pp512, tg128, pp512 @ d1024. */
export function testName(t: BenchTest): string {
  return `${t.kind}${t.tokens}${t.depth ? ` @ d${t.depth}` : ''}`;
}

/** Every (pp, tg) × depth combination, pp first as llama-bench lists them; 0 sizes are skipped. */
export function planTests(pp: number[], tg: number[], depths: number[]): BenchTest[] {
  const tests: BenchTest[] = [];
  for (const depth of depths) {
    for (const tokens of pp) if (tokens > 0) tests.push({ kind: 'pp', tokens, depth });
    for (const tokens of tg) if (tokens > 0) tests.push({ kind: 'tg', tokens, depth });
  }
  return tests;
}

/** Context positions a test needs (its prompt, plus the first sampled token and the decode steps). */
export function positionsNeeded(t: BenchTest): number {
  return t.kind === 'pp' ? t.depth + t.tokens + 1 : Math.max(1, t.depth) + t.tokens + 1;
}

/** Deterministic pseudo-random ids in [lo, hi) (the core's seeded RNG), so runs compare like for like. */
export function randomIds(count: number, lo: number, hi: number, seed: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => lo + Math.floor(rng.nextFloat() * (hi - lo)));
}

async function run(
  model: TextGenerator,
  promptIds: number[],
  newTokens: number,
  keepCache: boolean,
  signal: AbortSignal,
): Promise<GenerationStats> {
  // Greedy with EOS suppressed: exactly newTokens tokens and no sampling cost beyond an argmax.
  const settings = resolveSettings({
    temperature: 0,
    max_new_tokens: newTokens,
    min_new_tokens: newTokens,
  });
  for await (const event of model.generate({
    prompt: '',
    promptIds: [promptIds],
    settings,
    keepCache,
    signal,
  })) {
    if (event.type === 'done') {
      if (event.reason === 'aborted') throw new AbortedError();
      return event.stats;
    }
  }
  throw new Error('generation ended without a done event');
}

/** One repetition: returns tokens/s of the measured phase and the time to first token. */
async function once(
  model: TextGenerator,
  t: BenchTest,
  ids: number[],
  signal: AbortSignal,
): Promise<{ rate: number; ttft: number }> {
  if (t.kind === 'pp') {
    // The depth is prefilled first (untimed) and kept, so the timed prefill sees a cache of d tokens.
    if (t.depth > 0) await run(model, ids.slice(0, t.depth), 1, true, signal);
    const stats = await run(model, ids.slice(0, t.depth + t.tokens), 1, t.depth > 0, signal);
    return { rate: (stats.promptTokens / stats.prefillMs) * 1000, ttft: stats.ttftMs };
  }
  // tg: N decode steps after the first token; the prompt (depth, or one token) is not timed.
  const stats = await run(model, ids.slice(0, Math.max(1, t.depth)), t.tokens + 1, false, signal);
  return { rate: stats.tokensPerSecond, ttft: stats.ttftMs };
}

/** Runs a test `reps` times after an optional warm-up run. */
export async function measure(
  model: TextGenerator,
  t: BenchTest,
  reps: number,
  warmup: boolean,
  signal: AbortSignal,
): Promise<BenchResult> {
  const hi = Math.max(4, model.info.vocabSize);
  const ids = randomIds(t.depth + t.tokens + 1, Math.min(3, hi - 1), hi, 1234 + t.depth + t.tokens);
  if (warmup) await once(model, t, ids, signal);
  const rates: number[] = [];
  const ttfts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const { rate, ttft } = await once(model, t, ids, signal);
    rates.push(rate);
    ttfts.push(ttft);
  }
  return {
    ...t,
    name: testName(t),
    tokensPerSecond: spread(rates),
    ttftMs: spread(ttfts),
    samples: rates,
  };
}
