/**
 * CUDA against CPU, for a machine with an NVIDIA GPU: each model is loaded on both devices, decoded
 * greedily for a fixed number of tokens, and the token ids are compared; decode and prefill speeds are
 * printed side by side. Models: stories260K (trained, fp32: must agree), the onnxruntime-genai tiny
 * Llama (fp16 weights and fp16 KV cache), and a ~32M-parameter random Llama written by
 * generation/onnx-writer into a temp folder (random weights have near-ties, so a late divergence there
 * is reported, not failed). Without a usable CUDA it prints why and exits 2.
 *
 *   npx tsx bench/cuda-check.ts [--model DIR]... [--tokens 64] [--no-generated] [--device-id N]
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, resolveSettings, type GenerationEvent, type TextGenerator } from '../generation/index.js';
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

/** Writes a random-weight Llama (10 layers, hidden 512, MLP 1376: ~32M parameters) with the stories260K tokenizer. */
async function writeGeneratedLlama(): Promise<string> {
  const { buildLlama, OPSET } = await import('../generation/onnx-writer/llama-gpt2.js');
  const { randomWeights } = await import('../generation/onnx-writer/decoder-common.js');
  const { writeMessage } = await import('../generation/onnx-writer/graph.js');
  const src = join(shared, 'stories260K-onnx');
  const out = mkdtempSync(join(tmpdir(), 'textgen-cuda-check-'));
  const shape = { layers: 10, heads: 8, kvHeads: 8, headDim: 64, hidden: 512, vocab: 512, maxPositions: 512, intermediate: 1376, rmsNormEps: 1e-5, ropeTheta: 10000, tieEmbeddings: true };
  mkdirSync(join(out, 'onnx'));
  writeMessage(join(out, 'onnx', 'model.onnx'), buildLlama(shape, randomWeights(7)).model(OPSET));
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
  Object.assign(config, { hidden_size: 512, intermediate_size: 1376, num_hidden_layers: 10, num_attention_heads: 8, num_key_value_heads: 8, head_dim: 64 });
  writeFileSync(join(out, 'config.json'), JSON.stringify(config));
  for (const f of ['generation_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(out, f));
  return out;
}

interface Run {
  ids: number[];
  decodeTps: number;
  prefillTps: number;
}

async function greedy(model: TextGenerator): Promise<Run> {
  const settings = resolveSettings(model.info.generationDefaults, { do_sample: false, max_new_tokens: tokens, min_new_tokens: tokens });
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  for await (const event of model.generate({ prompt: 'Once upon a time', settings })) if (event.type === 'done') done = event;
  if (!done) throw new Error('generation ended without a done event');
  return { ids: done.sequences[0].token_ids, decodeTps: done.stats.tokensPerSecond, prefillTps: done.stats.promptTokensPerSecond };
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
    const verdict = diverge < 0 ? `identical ${a.ids.length} tokens` : `diverge at token ${diverge}`;
    console.log(`${dir}\n  dtype ${cuda.info.dtype} on ${cuda.info.device}: ${verdict}`);
    console.log(`  decode  tok/s  cpu ${a.decodeTps.toFixed(1)} (${cpu.info.threads} threads)  cuda ${b.decodeTps.toFixed(1)}`);
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
  : [[join(shared, 'stories260K-onnx'), true], [join(shared, 'ort-genai-tiny-random-llama-fp16'), false]];
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
