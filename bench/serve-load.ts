/**
 * A bounded loopback load test of `textgen serve` (not part of the test suite):
 *   npx tsx bench/serve-load.ts [--models stories,llama-40m] [--concurrency 1,4,8,16]
 *                               [--requests N] [--tokens N] [--rounds N] [--threads N]
 * For each model it starts the server in this process on 127.0.0.1:0 (decoding in the model worker,
 * --parallel = the highest concurrency), then for each concurrency level sends a fixed number of
 * streamed greedy requests, that many in flight at a time, and reports TTFT, TPOT, inter-token latency
 * and aggregate tokens/s (levels interleaved over --rounds, ranges across rounds). Every answer is
 * compared with the answer to the same prompt at concurrency 1: greedy output must not depend on the
 * batch. The 40M model is written once (seeded random weights, llama-40m preset) to a temp folder.
 * The machine may be shared: the load average is printed next to the numbers.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../generation/index.js';
import { PRESETS, writeRandomModel } from '../generation/onnx-writer/random-model.js';
import { startServer, type RunningServer } from '../server/index.js';
import { sseData } from '../generation/remote/sse-reader.js';
import { ints, machine, options, span } from './common.js';

const values = options({
  models: 'stories,llama-40m',
  concurrency: '1,4,8,16',
  requests: '16',
  tokens: '48',
  rounds: '2',
  threads: undefined,
});
const levels = ints(values.concurrency);
const requests = Number(values.requests);
const tokens = Number(values.tokens);
const rounds = Number(values.rounds);

/** Prompts of different lengths, so rows join the batch at different positions. */
const PROMPTS = [
  'Once upon a time',
  'Sam',
  'The little dog ran to the park and',
  'Mom said',
  'A bird sat on a tree. It',
  'Lily and Ben were friends. One day they found a big box in the garden',
  'Tim',
  'The sun was hot, so the children',
];

function modelDir(name: string): { dir: string; bias: Record<string, number> } {
  if (name === 'stories')
    return {
      dir: join(import.meta.dirname, '..', '..', 'shared', 'models', 'stories260K-onnx'),
      bias: { '1': -100, '2': -100 },
    };
  const spec = PRESETS[name];
  if (!spec) throw new Error(`unknown model ${name} (stories or a random-model preset)`);
  const dir = join(tmpdir(), `textgen-bench-${name}`);
  if (!existsSync(join(dir, 'onnx', 'model.onnx'))) {
    mkdirSync(dir, { recursive: true });
    console.log(`writing ${name} to ${dir} (once)…`);
    writeRandomModel(dir, spec, 0);
  }
  return { dir, bias: { '0': -100 } };
}

interface Sample {
  prompt: number;
  text: string;
  ttft: number;
  gaps: number[];
  e2e: number;
  tokens: number;
}

/** One streamed request; times in ms from the moment it is sent. */
async function ask(url: string, prompt: number, bias: Record<string, number>): Promise<Sample> {
  const start = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'bench', prompt: PROMPTS[prompt], max_tokens: tokens, temperature: 0, logit_bias: bias, stream: true, stream_options: { include_usage: true } }), // prettier-ignore
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let text = '';
  const times: number[] = [];
  let count = 0;
  for await (const data of sseData(res.body as AsyncIterable<Uint8Array>)) {
    if (data === '[DONE]') break;
    const chunk = JSON.parse(data);
    if (chunk.usage) count = chunk.usage.completion_tokens;
    const piece = chunk.choices?.[0]?.text;
    if (piece) {
      text += piece;
      times.push(performance.now() - start);
    }
  }
  return { prompt, text, ttft: times[0], gaps: times.slice(1).map((t, i) => t - times[i]), e2e: performance.now() - start, tokens: count }; // prettier-ignore
}

/** `requests` requests, `c` in flight at a time; returns the samples and the wall time. */
async function level(url: string, c: number, bias: Record<string, number>) {
  const samples: Sample[] = [];
  let next = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (next < requests) {
      const i = next++;
      samples.push(await ask(url, i % PROMPTS.length, bias));
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  const used = process.cpuUsage(cpu);
  // Process CPU time (all threads: HTTP, worker, ORT) is the steadier measure on a shared machine.
  return { samples, wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

const pct = (xs: number[], p: number) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function benchModel(name: string): Promise<number | undefined> {
  const { dir, bias } = modelDir(name);
  const parallel = Math.max(...levels);
  const threads = values.threads ? Number(values.threads) : undefined;
  const generator = await loadModel(dir, { parallel, threads });
  let server: RunningServer | undefined;
  try {
    server = await startServer({ port: 0, models: { served: [{ name: 'bench', generator }], maxQueue: requests } }); // prettier-ignore
    const mode = generator.batchStatus?.()?.mode;
    console.log(`\n## ${name} (${generator.info.architecture}, ${generator.info.threads} thread(s), ${mode} batching, parallel ${parallel})`); // prettier-ignore
    console.log(`${requests} requests per level, ${tokens} tokens each, ${rounds} round(s); ${machine()}`); // prettier-ignore
    await ask(server.url, 0, bias); // warm-up
    const reference = new Map<number, string>();
    const results = new Map<number, Array<Awaited<ReturnType<typeof level>>>>();
    for (let round = 0; round < rounds; round++)
      for (const c of levels) {
        const r = await level(server.url, c, bias);
        if (c === 1) for (const s of r.samples) reference.set(s.prompt, s.text);
        results.set(c, [...(results.get(c) ?? []), r]);
      }
    let mismatches = 0;
    console.log('| concurrency | tok/s (aggregate) | vs c=1 | tok per CPU-s | vs c=1 | TTFT p50 ms | TPOT p50 ms | ITL p50 / p90 ms |'); // prettier-ignore
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const count = (r: Awaited<ReturnType<typeof level>>) => r.samples.reduce((a, s) => a + s.tokens, 0); // prettier-ignore
    const rate = (r: Awaited<ReturnType<typeof level>>) => (count(r) / r.wall) * 1000;
    const cpuRate = (r: Awaited<ReturnType<typeof level>>) => (count(r) / r.cpu) * 1000;
    const first = results.get(1) ?? results.get(levels[0])!;
    const base = first.map(rate);
    const cpuBase = first.map(cpuRate);
    const ratioAt: Record<number, number[]> = {};
    for (const c of levels) {
      const runs = results.get(c)!;
      const all = runs.flatMap((r) => r.samples);
      for (const s of all) if (reference.has(s.prompt) && reference.get(s.prompt) !== s.text) mismatches++; // prettier-ignore
      const rates = runs.map(rate);
      const cpuRates = runs.map(cpuRate);
      ratioAt[c] = rates.map((x, i) => x / base[i]);
      const tpot = all.map((s) => (s.e2e - s.ttft) / Math.max(1, s.tokens - 1));
      const gaps = all.flatMap((s) => s.gaps);
      const cpuRatio = cpuRates.map((x, i) => x / cpuBase[i]);
      console.log(`| ${c} | ${span(rates)} | ${span(ratioAt[c], 2)}× | ${span(cpuRates)} | ${span(cpuRatio, 2)}× | ${pct(all.map((s) => s.ttft), 50).toFixed(1)} | ${pct(tpot, 50).toFixed(2)} | ${pct(gaps, 50).toFixed(2)} / ${pct(gaps, 90).toFixed(2)} |`); // prettier-ignore
    }
    console.log(mismatches === 0 ? 'greedy outputs under load equal the sequential ones: yes' : `greedy outputs under load differ from the sequential ones: ${mismatches} answers`); // prettier-ignore
    if (mismatches) process.exitCode = 1;
    return ratioAt[8] ? Math.min(...ratioAt[8]) : undefined;
  } finally {
    await server?.close();
    if (!server) await generator.dispose();
  }
}

for (const name of values.models.split(',')) {
  const ratio = await benchModel(name);
  if (name.endsWith('40m') && ratio !== undefined)
    console.log(`aggregate tokens/s at concurrency 8 vs 1 (lowest round): ${ratio.toFixed(2)}× (goal ≥ 3×)`); // prettier-ignore
}
