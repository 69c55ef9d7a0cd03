/**
 * Issue 12's speed targets in one run: textgen on its fused graph (zero-copy KV cache) against
 * transformers.js 4.3.1 on the transformers.js-compatible file of the same weights (and textgen on
 * that file too, for reference), same onnxruntime-node build, same thread count, interleaved.
 *   - llama-40m: the random-model preset, written once as onnx/model.onnx + onnx/textgen_decoder.onnx
 *     from the same seed (cached under the OS temp folder); decode at contexts 128 and 2048.
 *   - stories260K: ../shared/models/stories260K-hf converted by `textgen convert` (fp32); also
 *     transformers.js on ../shared/models/stories260K-onnx ("shared"), the same weights exported earlier.
 * Prints per-token decode cost (wall and process CPU; median and range over the repetitions), the
 * ratios, and textgen's cost at the longest context over the shortest.
 *   npx tsx bench/fastpath.ts [--threads 1] [--reps 3] [--tokens 32] [--models llama-40m,stories260K]
 *     [--contexts 128,2048] [--dtype fp32|fp16|q8|q4]
 * --dtype compares the files of that dtype on both sides (written once, the same weights quantized
 * the same way; q4 of the 40M model takes a few minutes to write).
 * stories260K decodes 3× --tokens per run (its steps take well under a millisecond).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../generation/convert/convert.js';
import { DTYPE_SUFFIXES, loadModel, type TextGenerator } from '../generation/index.js';
import { randomWeights } from '../generation/onnx-writer/decoder-common.js';
import { buildFusedDecoder, FUSED_OPSET } from '../generation/onnx-writer/fused-decoder.js';
import { writeMessage } from '../generation/onnx-writer/graph.js';
import { buildLlama, OPSET } from '../generation/onnx-writer/llama-gpt2.js';
import { PRESETS, writeRandomModel } from '../generation/onnx-writer/random-model.js';
import {
  cpuRate,
  decodeRate,
  ints,
  loadPeer,
  machine,
  median,
  options,
  randomIds,
  range,
  traceTextgen,
  tracePeer,
  type Trace,
} from './common.js';

const values = options({
  threads: '1',
  reps: '3',
  tokens: '32',
  models: 'llama-40m,stories260K',
  contexts: '128,2048',
  dtype: 'fp32',
});
const threads = Number(values.threads);
const reps = Number(values.reps);
const dtype = values.dtype as 'fp32' | 'fp16' | 'q8' | 'q4';
if (!['fp32', 'fp16', 'q8', 'q4'].includes(dtype)) throw new Error(`--dtype: fp32, fp16, q8 or q4`);
const suffix = DTYPE_SUFFIXES[dtype];
const baseTokens = Number(values.tokens);
/** Bump when the fused graph's I/O changes, so stale cached models are rewritten. */
const FORMAT = 2;
const cache = join(tmpdir(), `textgen-bench-models-${FORMAT}`);

/** A folder with the fused graph and the compatible one (of --dtype), written once. */
function modelFolder(name: string): string {
  const dir = join(cache, dtype === 'fp32' || name !== 'stories260K' ? name : `${name}-${dtype}`);
  const fused = join(dir, 'onnx', `textgen_decoder${suffix}.onnx`);
  if (existsSync(fused)) return dir;
  const started = performance.now();
  if (name === 'stories260K') {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    const source = join(import.meta.dirname, '..', '..', 'shared', 'models', 'stories260K-hf');
    convertCheckpoint({ source, output: dir, dtype });
  } else {
    if (!existsSync(join(dir, 'onnx', 'textgen_decoder.onnx'))) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(cache, { recursive: true });
      writeRandomModel(dir, PRESETS[name], 0, 'fused');
    }
    if (dtype !== 'fp32') {
      // The same seed's weights, stored in the dtype by both emitters.
      const spec = PRESETS[name];
      if (spec.arch !== 'llama') throw new Error('--dtype is written for the Llama presets');
      const compatible = buildLlama(spec, randomWeights(0), { dtype });
      writeMessage(join(dir, 'onnx', `model${suffix}.onnx`), compatible.model(OPSET));
      const graph = buildFusedDecoder({ ...spec, arch: 'llama' }, randomWeights(0), { dtype });
      writeMessage(fused, graph.model(FUSED_OPSET));
    }
  }
  console.log(`(wrote ${dir} in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return dir;
}

/** The same folder without the fused file (textgen then runs onnx/model.onnx, growing cache). */
function compatibleFolder(dir: string): string {
  const out = `${dir}-compatible${suffix}`;
  if (existsSync(out)) return out;
  mkdirSync(join(out, 'onnx'), { recursive: true });
  for (const f of readdirSync(dir))
    if (f.endsWith('.json')) symlinkSync(join(dir, f), join(out, f));
  const file = `model${suffix}.onnx`;
  symlinkSync(join(dir, 'onnx', file), join(out, 'onnx', file));
  return out;
}

/** textgen in-process on `dir` with --dtype. */
const textgen = (dir: string) => loadModel(dir, { inProcess: true, threads, dtype });

console.log(`machine: ${machine()}`);
console.log(
  `threads ${threads}, ${baseTokens} decode tokens per run (stories260K: ${3 * baseTokens}), ${reps} interleaved reps after a warm-up; ms per decoded token (median [min–max]); CPU = process CPU time`,
);
const perModel: string[] = [];
for (const name of values.models.split(',')) {
  const dir = modelFolder(name);
  const fused = await textgen(dir);
  const compatible = await textgen(compatibleFolder(dir));
  const peer = await loadPeer(dir, threads, dtype);
  const context = fused.info.contextLength;
  const tokens = name === 'stories260K' ? 3 * baseTokens : baseTokens;
  console.log(
    `\n${name} (${dtype}): ${fused.info.cacheLayout} (${fused.info.onnxFiles.map((f) => f.split('/').pop())}) vs transformers.js on onnx/model${suffix}.onnx`,
  );
  const runners: Array<[string, (prompt: number[]) => Promise<Trace>]> = [
    ['textgen fused', (p) => traceTextgen(fused, p, tokens)],
    ['transformers.js', (p) => tracePeer(peer, p, tokens)],
    ['textgen compatible', (p) => traceTextgen(compatible as TextGenerator, p, tokens)],
  ];
  // The shared stories260K-onnx export of the same weights (a heavier optimum-style graph, 375 nodes).
  const shared = join(import.meta.dirname, '..', '..', 'shared', 'models', 'stories260K-onnx');
  const sharedPeer =
    name === 'stories260K' && dtype === 'fp32' && existsSync(shared)
      ? await loadPeer(shared, threads)
      : undefined;
  if (sharedPeer) runners.push(['transformers.js shared', (p) => tracePeer(sharedPeer, p, tokens)]);
  const fusedCost = new Map<number, number>();
  for (const wanted of ints(values.contexts)) {
    // The decode steps run at contexts [length, length + tokens): end at the asked context or below.
    const length = Math.max(1, Math.min(wanted, context) - tokens - 1);
    const prompt = randomIds(length, 3, fused.info.vocabSize, 42 + length);
    const wall = new Map<string, number[]>(runners.map(([n]) => [n, []]));
    const cpu = new Map<string, number[]>(runners.map(([n]) => [n, []]));
    for (const [, run] of runners) await run(prompt);
    for (let r = 0; r < reps; r++)
      for (const [n, run] of runners) {
        const t = await run(prompt);
        wall.get(n)!.push(1000 / decodeRate(t));
        cpu.get(n)!.push(1000 / cpuRate(t));
      }
    console.log(`  context ${length}–${length + tokens}:`);
    const peerWall = median(wall.get('transformers.js')!);
    const peerCpu = median(cpu.get('transformers.js')!);
    for (const [n] of runners) {
      const w = wall.get(n)!;
      const c = cpu.get(n)!;
      const vs =
        n === 'transformers.js'
          ? ''
          : `   ×${(peerWall / median(w)).toFixed(2)} wall, ×${(peerCpu / median(c)).toFixed(2)} CPU vs transformers.js`;
      console.log(`    ${n.padEnd(19)} wall ${range(w)}  CPU ${range(c)}${vs}`);
    }
    fusedCost.set(wanted, median(cpu.get('textgen fused')!));
  }
  const [first, last] = [...fusedCost.keys()].sort((a, b) => a - b).map((k) => fusedCost.get(k)!);
  if (fusedCost.size > 1)
    perModel.push(
      `${name}: textgen fused CPU per token at the longest context ÷ shortest = ${(last / first).toFixed(2)}`,
    );
  await fused.dispose();
  await compatible.dispose();
  for (const m of [peer, sharedPeer])
    await (m as unknown as { dispose(): Promise<unknown> } | undefined)?.dispose();
}
for (const line of perModel) console.log(line);
