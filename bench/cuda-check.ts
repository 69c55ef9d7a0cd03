/**
 * CUDA against CPU, for a machine with an NVIDIA GPU: each model is loaded on both devices, decoded
 * greedily for a fixed number of tokens, and the token ids are compared; decode and prefill speeds are
 * printed side by side. Models: stories260K (trained, fp32: must agree), the onnxruntime-genai tiny
 * Llama (fp16 weights and fp16 KV cache), and the onnx-writer's `llama-40m` preset written with random
 * weights into a temp folder (random weights have near-ties, so a divergence there is reported, not
 * failed). Without a usable CUDA it prints why and exits 2.
 *
 *   npx tsx bench/cuda-check.ts [--model DIR]... [--tokens 64] [--no-generated] [--device-id N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  loadModel,
  resolveSettings,
  type GenerationEvent,
  type TextGenerator,
} from '../generation/index.js';
import { cudaState } from '../generation/runtime/ort.js';

const shared = resolve(import.meta.dirname, '..', '..', 'shared', 'models');
const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true },
    tokens: { type: 'string', default: '64' },
    'no-generated': { type: 'boolean', default: false },
    'device-id': { type: 'string', default: '0' },
  },
});
const tokens = Number(values.tokens);
const deviceId = Number(values['device-id']);

/** Writes the onnx-writer's `llama-40m` preset (random weights, byte-level tokenizer) to a temp folder. */
async function writeGeneratedLlama(): Promise<string> {
  const { PRESETS, writeRandomModel } = await import('../generation/onnx-writer/random-model.js');
  const out = mkdtempSync(join(tmpdir(), 'textgen-cuda-check-'));
  writeRandomModel(out, PRESETS['llama-40m'], 7);
  return out;
}

interface Run {
  ids: number[];
  decodeTps: number;
  prefillTps: number;
}

async function greedy(model: TextGenerator): Promise<Run> {
  const settings = resolveSettings(model.info.generationDefaults, {
    do_sample: false,
    max_new_tokens: tokens,
    min_new_tokens: tokens,
  });
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  for await (const event of model.generate({ prompt: 'Once upon a time', settings }))
    if (event.type === 'done') done = event;
  if (!done) throw new Error('generation ended without a done event');
  return {
    ids: done.sequences[0].token_ids,
    decodeTps: done.stats.tokensPerSecond,
    prefillTps: done.stats.promptTokensPerSecond,
  };
}

/** Compares one model on both devices; returns whether it passed. */
async function check(dir: string, mustMatch: boolean): Promise<boolean> {
  const cpu = await loadModel(dir, { device: 'cpu', inProcess: true });
  const cuda = await loadModel(dir, { device: 'cuda', deviceId, inProcess: true });
  try {
    // One warm-up each: the first CUDA run pays for kernel selection and allocations.
    await greedy(cpu);
    await greedy(cuda);
    const a = await greedy(cpu);
    const b = await greedy(cuda);
    const diverge = a.ids.findIndex((id, i) => b.ids[i] !== id);
    const verdict =
      diverge < 0 ? `identical ${a.ids.length} tokens` : `diverge at token ${diverge}`;
    console.log(`${dir}\n  dtype ${cuda.info.dtype} on ${cuda.info.device}: ${verdict}`);
    console.log(
      `  decode  tok/s  cpu ${a.decodeTps.toFixed(1)} (${cpu.info.threads} threads)  cuda ${b.decodeTps.toFixed(1)}`,
    );
    console.log(`  prefill tok/s  cpu ${a.prefillTps.toFixed(1)}  cuda ${b.prefillTps.toFixed(1)}`);
    return !mustMatch || diverge < 0 || diverge >= 32;
  } finally {
    await cpu.dispose();
    await cuda.dispose();
  }
}

const state = cudaState();
if (!state.ready) {
  console.error(`cuda-check: CUDA is not usable here: ${state.reason}.\n  hint: ${state.hint}`);
  process.exit(2);
}
const models: [string, boolean][] = values.model?.length
  ? values.model.map((m) => [resolve(m), false])
  : [
      [join(shared, 'stories260K-onnx'), true],
      [join(shared, 'ort-genai-tiny-random-llama-fp16'), false],
    ];
let generated: string | undefined;
if (!values.model?.length && !values['no-generated']) {
  generated = await writeGeneratedLlama();
  models.push([generated, false]);
}
let ok = true;
try {
  for (const [dir, mustMatch] of models) ok = (await check(dir, mustMatch)) && ok;
} finally {
  if (generated) rmSync(generated, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
