/**
 * Writes a random-weight decoder folder for benchmarks (not part of the test suite):
 *   npx tsx bench/make-model.ts PRESET OUT_DIR [--seed N] [--set key=value,...]
 * Presets: smollm2-135m, llama-40m, gpt2-40m, llama-tiny, gpt2-tiny. --set overrides shape fields
 * (layers, heads, kvHeads, headDim, hidden, intermediate, inner, vocab, maxPositions).
 */
import { parseArgs } from 'node:util';
import {
  parameterCount,
  PRESETS,
  writeRandomModel,
  type RandomModelSpec,
} from '../generation/onnx-writer/random-model.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: 'string' }, set: { type: 'string' }, fused: { type: 'boolean' } },
});
const [preset, out] = positionals;
if (!preset || !out || !PRESETS[preset]) {
  console.error(
    `usage: npx tsx bench/make-model.ts PRESET OUT_DIR [--seed N] [--set k=v,...]\npresets: ${Object.keys(PRESETS).join(', ')}`,
  );
  process.exit(2);
}
const spec = { ...PRESETS[preset] } as RandomModelSpec & Record<string, unknown>;
for (const pair of values.set ? values.set.split(',') : []) {
  const [k, v] = pair.split('=');
  if (!(k in spec) || k === 'arch') throw new Error(`unknown shape field ${k}`);
  spec[k] = Number(v);
}
const started = performance.now();
const path = writeRandomModel(
  out,
  spec,
  Number(values.seed ?? 0),
  values.fused ? 'fused' : 'with-past',
);
console.log(
  `${path}: ${spec.arch}, ${(parameterCount(spec) / 1e6).toFixed(1)}M parameters, written in ${((performance.now() - started) / 1000).toFixed(1)}s`,
);
