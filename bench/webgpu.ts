/**
 * WebGPU against the CPU, in one run: stories260K (trained, from ../shared or --stories DIR), and
 * random-weight Llamas written from the onnx-writer presets into a temp folder (`llama-40m`, and
 * `smollm2-135m`, the SmolLM2-135M shape), so nothing is downloaded: the script runs from a copied
 * checkout with its node_modules and no network. For each model and context (128 and 2048 tokens,
 * capped at the model's window) one greedy generation gives the prefill rate (prompt tokens/s) and
 * the decode rate after that context (tokens/s); devices are interleaved and repeated, medians and
 * ranges printed, and everything written as JSON.
 *
 *   npx tsx bench/webgpu.ts [--quick|--full] [--reps N] [--tokens N] [--contexts 128,2048]
 *                           [--models stories260k,llama-40m,smollm2-135m] [--kv-copy]
 *                           [--stories DIR] [--threads N] [--out webgpu-bench.json]
 *
 * Without a hardware adapter (lavapipe, SwiftShader) --quick is the default: software Vulkan decodes
 * stories260K at tens of tokens/s and a 40M model at about one, so it does context 128 only, 4 decode
 * tokens and one repetition (a few minutes); --full forces the whole table. --kv-copy adds WebGPU with the KV
 * cache copied through the host every step (the pre-issue-15 data flow) for comparison.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomIds } from '../commands/bench-run.js';
import { loadModel, resolveSettings, type TextGenerator } from '../generation/index.js';
import { PRESETS, writeRandomModel } from '../generation/onnx-writer/random-model.js';
import { webgpuVerdict } from '../generation/runtime/ort.js';
import { probeAdapter } from '../generation/runtime/webgpu-probe.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    full: { type: 'boolean' },
    reps: { type: 'string' },
    tokens: { type: 'string' },
    contexts: { type: 'string' },
    models: { type: 'string', default: 'stories260k,llama-40m,smollm2-135m' },
    'kv-copy': { type: 'boolean', default: false },
    stories: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string', default: 'webgpu-bench.json' },
  },
});

type Config = { label: string; device: 'cpu' | 'webgpu'; kvOnGpu?: boolean };
interface Sample {
  prefill: number;
  decode: number;
}
interface Row {
  model: string;
  context: number;
  promptTokens: number;
  decodeTokens: number;
  results: Record<string, { prefill: number[]; decode: number[] }>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (xs: number[]) =>
  xs.length === 1
    ? xs[0].toFixed(1)
    : `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

/** One greedy generation: `prompt` ids, then exactly `tokens` new ones. */
async function once(model: TextGenerator, prompt: number[], tokens: number): Promise<Sample> {
  const settings = resolveSettings({
    temperature: 0,
    max_new_tokens: tokens + 1,
    min_new_tokens: tokens + 1,
  });
  for await (const event of model.generate({ prompt: '', promptIds: [prompt], settings }))
    if (event.type === 'done')
      return { prefill: event.stats.promptTokensPerSecond, decode: event.stats.tokensPerSecond };
  throw new Error('generation ended without a done event');
}

/** The folder of each requested model; random presets are written (once) under `tmp`. */
function modelDirs(names: string[], tmp: string): [string, string][] {
  return names.flatMap((name): [string, string][] => {
    if (name === 'stories260k') {
      const dir = resolve(
        values.stories ??
          join(import.meta.dirname, '..', '..', 'shared', 'models', 'stories260K-onnx'),
      );
      if (existsSync(join(dir, 'config.json'))) return [[name, dir]];
      console.log(`stories260k: skipped, ${dir} not found (pass --stories DIR)`);
      return [];
    }
    const spec = PRESETS[name];
    if (!spec)
      throw new Error(`unknown model ${name} (presets: ${Object.keys(PRESETS).join(', ')})`);
    const dir = join(tmp, name);
    const started = performance.now();
    writeRandomModel(dir, spec, 7);
    console.log(`${name}: written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return [[name, dir]];
  });
}

async function main(): Promise<void> {
  const adapter = await probeAdapter();
  if (!adapter.ok) {
    console.log(`No WebGPU adapter: ${adapter.detail}. Install a Vulkan driver (README, "GPU").`);
    process.exit(2);
  }
  const verdict = await webgpuVerdict();
  const quick = values.quick ?? (values.full ? false : !verdict.hardware);
  const reps = Number(values.reps ?? (quick ? 1 : 3));
  const tokens = Number(values.tokens ?? (quick ? 4 : 64));
  // Software Vulkan prefills a 40M model at single-digit tokens/s: 2048 positions would take minutes.
  const contexts = (values.contexts ?? (quick ? '128' : '128,2048')).split(',').map(Number);
  const configs: Config[] = [
    { label: 'cpu', device: 'cpu' },
    { label: 'webgpu', device: 'webgpu' },
    ...(values['kv-copy']
      ? [{ label: 'webgpu-kv-copy', device: 'webgpu', kvOnGpu: false } as Config]
      : []),
  ];
  const machine = `${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}, node ${process.version}`;
  console.log(machine);
  console.log(
    `WebGPU adapter: ${verdict.hardware ? 'hardware' : `software only (${verdict.reason})`}; ` +
      `${quick ? 'quick' : 'full'} mode: ${reps} rep(s), ${tokens} decode tokens, contexts ${contexts.join(', ')}`,
  );
  const tmp = mkdtempSync(join(tmpdir(), 'textgen-webgpu-bench-'));
  const rows: Row[] = [];
  try {
    for (const [name, dir] of modelDirs(values.models!.split(','), tmp)) {
      const models = new Map<string, TextGenerator>();
      for (const c of configs)
        models.set(
          c.label,
          await loadModel(dir, {
            device: c.device,
            kvOnGpu: c.kvOnGpu,
            threads: values.threads ? Number(values.threads) : undefined,
            inProcess: true,
          }),
        );
      try {
        const window = models.get('cpu')!.info.contextLength;
        for (const wanted of contexts) {
          const context = Math.min(wanted, window);
          const prompt = randomIds(
            context - tokens - 1,
            3,
            models.get('cpu')!.info.vocabSize,
            context,
          );
          const row: Row = {
            model: name,
            context,
            promptTokens: prompt.length,
            decodeTokens: tokens,
            results: {},
          };
          for (const c of configs) {
            row.results[c.label] = { prefill: [], decode: [] };
            await once(models.get(c.label)!, prompt, Math.min(tokens, 2)); // warm-up: shaders, arenas
          }
          for (let r = 0; r < reps; r++)
            for (const c of configs) {
              const s = await once(models.get(c.label)!, prompt, tokens);
              row.results[c.label].prefill.push(s.prefill);
              row.results[c.label].decode.push(s.decode);
            }
          rows.push(row);
          const cells = configs.map(
            (c) =>
              `${c.label} prefill ${fmt(row.results[c.label].prefill)} decode ${fmt(row.results[c.label].decode)}`,
          );
          const ratio = median(row.results.webgpu.decode) / median(row.results.cpu.decode);
          console.log(
            `${name} @ ${context}${context < wanted ? ` (model window ${window})` : ''}: ${cells.join(' | ')} tokens/s; webgpu/cpu decode ×${ratio.toFixed(2)}`,
          );
        }
      } finally {
        for (const m of models.values()) await m.dispose();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const out = resolve(values.out!);
  writeFileSync(
    out,
    `${JSON.stringify({ machine, adapter: verdict, quick, reps, tokens, rows, date: new Date().toISOString() }, null, 2)}\n`,
  );
  console.log(`results: ${out}`);
}

await main();
