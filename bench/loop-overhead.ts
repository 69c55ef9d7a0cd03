/**
 * textgen's per-token decode time vs one raw onnxruntime-node `session.run` decode step on the same
 * model, threads and context (the loop's overhead), and how per-token cost grows with context.
 * Raw: a session opened directly, prefilled once, then single-token runs whose presents become the
 * next pasts (ORT allocates outputs; nothing else happens between runs). Runs alternate.
 *   npx tsx bench/loop-overhead.ts [--model DIR] [--threads N] [--contexts 128,512] [--tokens 64] [--reps 3]
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  args,
  cpuRate,
  decodeRate,
  describe,
  fmt,
  ints,
  loadTextgen,
  machine,
  randomIds,
  spread,
  traceTextgen,
} from './common.js';

const opts = args({ contexts: '128,512', tokens: '64', reps: '3' });
const tokens = Number(opts.tokens);
const reps = Number(opts.reps);
console.log(`machine: ${machine()}`);
console.log(
  `model: ${opts.model} (${describe(opts.model)}), threads ${opts.threads}, ${tokens} decode steps per run, ${reps} reps`,
);

const session = await ort.InferenceSession.create(join(opts.model, 'onnx', 'model.onnx'), {
  intraOpNumThreads: opts.threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  executionProviders: ['cpu'],
});
const textgen = await loadTextgen(opts.model, opts.threads, true);
const pastNames = session.inputNames.filter((n) => n.startsWith('past_key_values'));

const i64 = (values: number[], dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);

const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Raw decode: prefill `prompt`, then `steps` single-token runs; returns wall and CPU ms per step. */
async function raw(prompt: number[], steps: number): Promise<{ wall: number; cpu: number }> {
  const meta = session.inputMetadata as unknown as Array<{
    name: string;
    shape: Array<number | string>;
  }>;
  let past: Record<string, ort.Tensor> = {};
  for (const m of meta.filter((x) => pastNames.includes(x.name))) {
    const dims = m.shape.map((d) => (typeof d === 'number' ? d : /batch/.test(d) ? 1 : 0));
    past[m.name] = new ort.Tensor('float32', new Float32Array(0), dims);
  }
  const run = async (ids: number[], offset: number) => {
    const total = offset + ids.length;
    const out = await session.run({
      input_ids: i64(ids, [1, ids.length]),
      attention_mask: i64(new Array(total).fill(1), [1, total]),
      position_ids: i64(
        ids.map((_, i) => offset + i),
        [1, ids.length],
      ),
      ...past,
    });
    past = Object.fromEntries(
      pastNames.map((n) => [n, out[n.replace('past_key_values', 'present')]]),
    );
    return out.logits;
  };
  await run(prompt, 0);
  const start = performance.now();
  const cpu = cpuNow();
  for (let i = 0; i < steps; i++) await run([prompt[i % prompt.length]], prompt.length + i);
  return { wall: (performance.now() - start) / steps, cpu: (cpuNow() - cpu) / 1000 / steps };
}

const context = textgen.info.contextLength;
for (const wanted of ints(opts.contexts)) {
  const length = Math.min(wanted, context - tokens - 2);
  const prompt = randomIds(length, 1, textgen.info.vocabSize, 5 + length);
  await raw(prompt, 4);
  await traceTextgen(textgen, prompt, 8);
  const rawWall: number[] = [];
  const rawCpu: number[] = [];
  const oursWall: number[] = [];
  const oursCpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const x = await raw(prompt, tokens - 1);
    rawWall.push(x.wall);
    rawCpu.push(x.cpu);
    // `tokens` new tokens = tokens − 1 decode steps after the first, over the same positions as raw.
    const t = await traceTextgen(textgen, prompt, tokens);
    oursWall.push(1000 / decodeRate(t));
    oursCpu.push(1000 / cpuRate(t));
  }
  const over = (a: number[], b: number[]) =>
    `${((spread(a).mean / spread(b).mean - 1) * 100).toFixed(1)}%`;
  console.log(
    `context ${length}: cpu ms/token: raw ${fmt(rawCpu, 3)}, textgen ${fmt(oursCpu, 3)}, overhead ${over(oursCpu, rawCpu)} | wall ms/token: raw ${fmt(rawWall, 3)}, textgen ${fmt(oursWall, 3)}, overhead ${over(oursWall, rawWall)}`,
  );
}
await textgen.dispose();
