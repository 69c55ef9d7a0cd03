/**
 * textgen vs transformers.js on the same ONNX file, onnxruntime-node build and thread count:
 * decode tokens/s at several context lengths, time to first token, and num_return_sequences
 * throughput. Runs alternate between the two (and textgen's in-process and worker paths) so load
 * from other processes hits both alike; ratios are from the same run.
 *   npx tsx bench/vs-transformers.ts [--model DIR] [--threads N] [--contexts 128,512,2048]
 *     [--tokens 32] [--reps 3] [--rows 4] [--rows-context 128]
 */
import {
  args,
  cpuRate,
  decodeRate,
  endToEndRate,
  describe,
  fmt,
  ints,
  loadPeer,
  loadTextgen,
  machine,
  randomIds,
  spread,
  traceTextgen,
  tracePeer,
  ttft,
  type Trace,
} from './common.js';

const opts = args({
  contexts: '128,512,2048',
  tokens: '32',
  reps: '3',
  rows: '4',
  'rows-context': '128',
});
const tokens = Number(opts.tokens);
const reps = Number(opts.reps);
const rows = Number(opts.rows);

console.log(`machine: ${machine()}`);
console.log(
  `model: ${opts.model} (${describe(opts.model)}), threads ${opts.threads}, ${tokens} decode tokens, ${reps} reps`,
);

const inProcess = await loadTextgen(opts.model, opts.threads, true);
const worker = await loadTextgen(opts.model, opts.threads, false);
const peer = await loadPeer(opts.model, opts.threads);
const context = inProcess.info.contextLength;
const vocab = inProcess.info.vocabSize;

type Runner = { name: string; run: (prompt: number[], rowsWanted: number) => Promise<Trace> };
const runners: Runner[] = [
  { name: 'textgen in-process', run: (p, r) => traceTextgen(inProcess, p, tokens, r) },
  // Per-step CPU readings on this thread would be skewed by the worker's batched events.
  { name: 'textgen worker', run: (p, r) => traceTextgen(worker, p, tokens, r, false) },
  { name: 'transformers.js', run: (p, r) => tracePeer(peer, p, tokens, r) },
];

/** Runs every runner `reps` times, interleaved, after one warm-up each. */
async function compare(prompt: number[], rowsWanted: number): Promise<Map<string, Trace[]>> {
  const out = new Map<string, Trace[]>(runners.map((r) => [r.name, []]));
  for (const r of runners) await r.run(prompt, rowsWanted);
  for (let i = 0; i < reps; i++)
    for (const r of runners) out.get(r.name)!.push(await r.run(prompt, rowsWanted));
  return out;
}

function report(
  label: string,
  traces: Map<string, Trace[]>,
  metric: (t: Trace) => number,
  unit: string,
  higherIsBetter: boolean,
): void {
  const peerMean = spread(traces.get('transformers.js')!.map(metric)).mean;
  for (const [name, list] of traces) {
    const values = list.map(metric);
    if (values.some((v) => !Number.isFinite(v))) continue;
    const mean = spread(values).mean;
    const ratio = higherIsBetter ? mean / peerMean : peerMean / mean;
    console.log(
      `  ${label.padEnd(18)} ${name.padEnd(19)} ${fmt(values, 2).padStart(18)} ${unit}${name === 'transformers.js' ? '' : `   ×${ratio.toFixed(2)} vs transformers.js`}`,
    );
  }
}

for (const wanted of ints(opts.contexts)) {
  const length = Math.min(wanted, context - tokens - 1);
  if (length < 1) continue;
  const prompt = randomIds(length, 1, vocab, 42 + length);
  console.log(
    `context ${length}${length !== wanted ? ` (asked ${wanted}; model context ${context})` : ''}:`,
  );
  const traces = await compare(prompt, 1);
  report('decode (wall)', traces, decodeRate, 'tok/s', true);
  report('decode (cpu)', traces, cpuRate, 'tok/cpu-s', true);
  report('time to first', traces, ttft, 'ms', false);
}

const prompt = randomIds(Math.min(Number(opts['rows-context']), context - tokens - 1), 1, vocab, 7);
console.log(
  `num_return_sequences ${rows} (sampling; transformers.js: a batch of ${rows} copies), context ${prompt.length}:`,
);
const traces = await compare(prompt, rows);
// textgen's own rate already counts every row; the peer's per-step timestamps are per batch step.
report(
  'rows×decode wall',
  traces,
  (t) => (t.stats ? decodeRate(t) : rows * decodeRate(t)),
  'tok/s',
  true,
);
report('rows×decode cpu', traces, (t) => rows * cpuRate(t), 'tok/cpu-s', true);
report('end to end', traces, (t) => endToEndRate(t, rows), 'tok/s', true);
report('time to first', traces, ttft, 'ms', false);

await inProcess.dispose();
await worker.dispose();
await peer.dispose();
