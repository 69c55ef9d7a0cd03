/**
 * num_return_sequences as one batch (what textgen does: one prefill, the KV cache expanded to N rows,
 * one forward per token for all rows) against N sequential generate() calls with different seeds.
 * Both run in process on the same loaded model; EOS is held back with min_new_tokens so every sequence
 * has exactly --tokens tokens and the two sides do the same amount of work.
 *
 *   npx tsx bench/num-return-sequences.ts [--model DIR] [--n 4,16] [--tokens 64] [--reps 5] [--threads T]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  loadModel,
  resolveSettings,
  type SettingsLayer,
  type TextGenerator,
} from '../generation/index.js';

const { values } = parseArgs({
  options: {
    model: {
      type: 'string',
      default: resolve(import.meta.dirname, '..', '..', 'shared', 'models', 'stories260K-onnx'),
    },
    n: { type: 'string', default: '4,16' },
    tokens: { type: 'string', default: '64' },
    reps: { type: 'string', default: '5' },
    threads: { type: 'string' },
    prompt: { type: 'string', default: 'Once upon a time' },
  },
});

const tokens = Number(values.tokens);
const reps = Number(values.reps);

/** Runs one generate() call and returns the completion tokens it produced. */
async function completionTokens(model: TextGenerator, layer: SettingsLayer): Promise<number> {
  const settings = resolveSettings(model.info.generationDefaults, {
    do_sample: true,
    temperature: 1,
    max_new_tokens: tokens,
    min_new_tokens: tokens,
    ...layer,
  });
  for await (const event of model.generate({ prompt: values.prompt!, settings })) {
    if (event.type === 'done') return event.sequences.reduce((a, s) => a + s.token_ids.length, 0);
  }
  throw new Error('no done event');
}

/** Wall time of `run` (median of `reps`) and the tokens it produced. */
async function measure(run: () => Promise<number>): Promise<{ ms: number; tokens: number }> {
  const times: number[] = [];
  let produced = 0;
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    produced = await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], tokens: produced };
}

const model = await loadModel(values.model!, {
  inProcess: true,
  threads: values.threads ? Number(values.threads) : undefined,
});
console.log(
  `model ${model.info.dir} (threads ${model.info.threads}), prompt "${values.prompt}", ${tokens} tokens per sequence, median of ${reps}`,
);
await completionTokens(model, { seed: 0, num_return_sequences: 2 });
console.log('N   mode        wall ms   tokens   tok/s');
for (const n of values.n!.split(',').map(Number)) {
  const batched = await measure(() =>
    completionTokens(model, { seed: 1, num_return_sequences: n }),
  );
  const sequential = await measure(async () => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await completionTokens(model, { seed: 1 + i });
    return sum;
  });
  for (const [mode, r] of [
    ['batched', batched],
    ['sequential', sequential],
  ] as const) {
    console.log(
      `${String(n).padEnd(3)} ${mode.padEnd(11)} ${r.ms.toFixed(1).padStart(8)} ${String(r.tokens).padStart(8)} ${((r.tokens / r.ms) * 1000).toFixed(0).padStart(7)}`,
    );
  }
  console.log(`    speed-up ${(sequential.ms / batched.ms).toFixed(2)}x`);
}
await model.dispose();
