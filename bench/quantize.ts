/**
 * `textgen quantize` on realistic shapes (issue 13), in one bounded run:
 *   npx tsx bench/quantize.ts [--presets llama-40m,smollm2-135m] [--repeats 5] [--threads 1]
 *                             [--context 128] [--budget 150] [--dir DIR]
 * For each random-weight preset (generation/onnx-writer/random-model.ts; written once into --dir,
 * default a folder under the OS temp dir that later runs reuse) it quantizes to q4, q8 and int8 in a
 * child process (wall time, CPU time, peak RSS), compares file sizes with fp32, then times, interleaved
 * round by round, one decode step (1 token over a --context cache) and one prefill (--context tokens,
 * no cache) on fp32 and each variant, and prints each variant's speed-up against the fp32 measured in
 * the same round (each the best of a few runs): median and range over the rounds. The machine is shared: read the ranges, and re-run on a quiet one.
 * Rounds stop early once --budget seconds have passed (at least three rounds run); writing the models
 * on a first run and quantizing are not bounded by it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { quantizeModel } from '../generation/index.js';
import {
  parameterCount,
  PRESETS,
  writeRandomModel,
} from '../generation/onnx-writer/random-model.js';
import { syntheticFeeds } from '../generation/runtime/session-check.js';
import { machine, median, options, span } from './common.js';

const DTYPES = { q4: '_q4', q8: '_quantized', int8: '_int8' } as const;
type Variant = 'fp32' | keyof typeof DTYPES;

if (process.argv[2] === '--child') {
  // Quantizes one folder and reports its cost, so the parent measures a fresh process.
  const [dir, dtype] = process.argv.slice(3);
  const wall = performance.now();
  for await (const _ of quantizeModel({ dir, dtype: dtype as keyof typeof DTYPES, check: false }));
  const usage = process.resourceUsage();
  console.log(
    JSON.stringify({
      wallS: (performance.now() - wall) / 1000,
      cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      peakRssMB: usage.maxRSS / 1024,
    }),
  );
  process.exit(0);
}

const values = options({
  presets: 'llama-40m,smollm2-135m',
  repeats: '5',
  threads: '1',
  context: '128',
  budget: '170',
  dir: join(tmpdir(), 'textgen-bench-quantize'),
});
const threads = Number(values.threads);
const context = Number(values.context);
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;

function onnx(dir: string, v: Variant): string {
  return join(dir, 'onnx', `model${v === 'fp32' ? '' : DTYPES[v]}.onnx`);
}

const fmt = (v: number[]) => `${median(v).toFixed(2)}× [${span(v, 2)}]`;

async function timeRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  const t = performance.now();
  await session.run(feeds);
  return performance.now() - t;
}

async function benchPreset(preset: string, budgetEnd: number): Promise<void> {
  const spec = PRESETS[preset];
  if (!spec) throw new Error(`unknown preset ${preset}: ${Object.keys(PRESETS).join(', ')}`);
  const dir = join(values.dir, preset);
  if (!existsSync(onnx(dir, 'fp32'))) {
    const t = performance.now();
    mkdirSync(dir, { recursive: true });
    writeRandomModel(dir, spec, 0);
    console.log(
      `${preset}: wrote the fp32 model in ${((performance.now() - t) / 1000).toFixed(0)} s`,
    );
  }
  const fp32Bytes = statSync(onnx(dir, 'fp32')).size;
  console.log(
    `\n## ${preset}: ${(parameterCount(spec) / 1e6).toFixed(1)}M parameters, fp32 ${(fp32Bytes / 2 ** 20).toFixed(0)} MiB`,
  );
  console.log('| dtype | file × fp32 | quantize wall / CPU | peak RSS × fp32 file |');
  console.log('| --- | --- | --- | --- |');
  for (const dtype of Object.keys(DTYPES) as Array<keyof typeof DTYPES>) {
    for (const f of [onnx(dir, dtype), join(dir, 'quantize_report.json')])
      rmSync(f, { force: true });
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, import.meta.filename, '--child', dir, dtype],
      { encoding: 'utf8' },
    );
    if (child.status !== 0) throw new Error(`quantize ${dtype} failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!);
    const size = statSync(onnx(dir, dtype)).size / fp32Bytes;
    console.log(
      `| ${dtype} | ${size.toFixed(3)} | ${r.wallS.toFixed(1)} s / ${r.cpuS.toFixed(1)} s | ${((r.peakRssMB * 2 ** 20) / fp32Bytes).toFixed(2)} (${r.peakRssMB.toFixed(0)} MiB) |`,
    );
  }
  const variants: Variant[] = ['fp32', 'q4', 'q8', 'int8'];
  const sessions = new Map<Variant, ort.InferenceSession>();
  for (const v of variants)
    sessions.set(
      v,
      await ort.InferenceSession.create(onnx(dir, v), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      }),
    );
  const feeds = (v: Variant, fresh: number, past: number) =>
    syntheticFeeds(sessions.get(v)!, { past, fresh });
  const decodeFeeds = new Map(variants.map((v) => [v, feeds(v, 1, context)]));
  const prefillFeeds = new Map(variants.map((v) => [v, feeds(v, context, 0)]));
  for (const v of variants) {
    await sessions.get(v)!.run(decodeFeeds.get(v)!);
    await sessions.get(v)!.run(prefillFeeds.get(v)!);
  }
  const decode: Record<string, number[]> = { q4: [], q8: [], int8: [] };
  const prefill: Record<string, number[]> = { q4: [], q8: [], int8: [] };
  const fp32Ms = { decode: [] as number[], prefill: [] as number[] };
  const repeats = Number(values.repeats);
  for (let r = 0; r < repeats && (r < 3 || elapsed() < budgetEnd); r++) {
    // One round: each variant's best of 5 decode steps and of 2 prefills, fp32 in the same round (the
    // best of a few is the run least disturbed by the other processes on the machine).
    const round: Record<Variant, { d: number; p: number }> = {} as never;
    for (const v of variants) {
      const s = sessions.get(v)!;
      let d = Infinity;
      let p = Infinity;
      for (let i = 0; i < 5; i++) d = Math.min(d, await timeRun(s, decodeFeeds.get(v)!));
      for (let i = 0; i < 2; i++) p = Math.min(p, await timeRun(s, prefillFeeds.get(v)!));
      round[v] = { d, p };
    }
    fp32Ms.decode.push(round.fp32.d);
    fp32Ms.prefill.push(round.fp32.p);
    for (const v of ['q4', 'q8', 'int8'] as const) {
      decode[v].push(round.fp32.d / round[v].d);
      prefill[v].push(round.fp32.p / round[v].p);
    }
  }
  for (const s of sessions.values()) await s.release();
  console.log(
    `\nSpeed-up over fp32 (fp32: decode ${median(fp32Ms.decode).toFixed(1)} ms/step at context ${context}, prefill ${median(fp32Ms.prefill).toFixed(0)} ms for ${context} tokens; ${fp32Ms.decode.length} rounds, median [range]):`,
  );
  console.log('| dtype | decode step | prefill |');
  console.log('| --- | --- | --- |');
  for (const v of ['q4', 'q8', 'int8'] as const)
    console.log(`| ${v} | ${fmt(decode[v])} | ${fmt(prefill[v])} |`);
}

console.log(`# textgen quantize bench — ${machine()}, ${threads} intra-op thread(s)`);
console.log('(shared machine: numbers are noisy; compare ranges, re-run on a quiet machine)');
const presets = values.presets.split(',');
for (let i = 0; i < presets.length; i++) {
  // Each preset gets an equal share of what is left of the budget for its timing rounds.
  const left = Number(values.budget) - elapsed();
  await benchPreset(presets[i], elapsed() + left / (presets.length - i));
}
console.log(`\ntotal ${elapsed().toFixed(0)} s`);
