/**
 * Where a batched decode step spends its time (not part of the test suite):
 *   npx tsx bench/serve-step-cost.ts [--model DIR] [--lengths 8,64,200] [--batches 1,8] [--threads N]
 * Process CPU time (steadier than wall time on a shared machine) of one decode step of the
 * continuous-batching row model at each batch size and row length, and the throughput gain of the
 * batch over one row. With today's optimum-style graphs the cost that grows with batch × length
 * (past/present concatenation, GQA head repetition, the copy of every present tensor) is what limits
 * the gain at long contexts. Default model: the llama-40m preset written by bench/serve-load.ts.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { inspectModelFolder, selectDtype } from '../generation/model/model-folder.js';
import { openModel } from '../generation/runtime/open-model.js';
import { DecoderRunner } from '../generation/runtime/decoder-runner.js';
import { DecoderBatchModel } from '../generation/decode/batch-scheduler-rows.js';
import { ints, machine } from './common.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(tmpdir(), 'textgen-bench-llama-40m') },
    lengths: { type: 'string', default: '8,64,200' },
    batches: { type: 'string', default: '1,8' },
    threads: { type: 'string', default: '1' },
    steps: { type: 'string', default: '10' },
  },
});
const folder = inspectModelFolder(values.model!);
const { runner } = await openModel(folder, folder.layouts[selectDtype(folder, 'auto', 'cpu')]!, {
  threads: Number(values.threads),
});
if (!(runner instanceof DecoderRunner)) throw new Error('a causal LM is needed');
const rows = new DecoderBatchModel(runner, folder.contextLength, 0);
const steps = Number(values.steps);
console.log(`${values.model}: ${machine()}, ${values.threads} thread(s)`);
console.log('| row length | batch | CPU ms / step | tokens per CPU-s | vs batch 1 |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
for (const length of ints(values.lengths!)) {
  let single = 0;
  for (const batch of ints(values.batches!)) {
    const prompt = Array.from({ length }, (_, i) => 1 + (i % 200));
    await rows.add(
      Array.from({ length: batch }, () => prompt),
      new Array(batch).fill(1),
    );
    const tokens = new Array<number>(batch).fill(5);
    await rows.step(tokens);
    const before = process.cpuUsage();
    for (let i = 0; i < steps; i++) await rows.step(tokens);
    const used = process.cpuUsage(before);
    const ms = (used.user + used.system) / 1000 / steps;
    const rate = (batch / ms) * 1000;
    if (batch === 1) single = rate;
    console.log(`| ${length} | ${batch} | ${ms.toFixed(1)} | ${rate.toFixed(0)} | ${single ? (rate / single).toFixed(2) : '–'}× |`); // prettier-ignore
    rows.drop([...Array(batch).keys()]);
  }
}
rows.dispose();
