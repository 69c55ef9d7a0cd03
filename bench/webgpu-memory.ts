/**
 * GPU memory and RSS over many short WebGPU generations in one process (issue 15: flat over 1,000).
 * Each generation is short and the mix exercises every GPU cache path: plain greedy, chat turns that
 * reuse and rewind the kept cache, beams with num_return_sequences (GPU row gathers), and batches.
 * Printed every --every generations after a GC: RSS, V8 heap, the GPU tensors the caches hold and
 * have adopted/disposed, and GPU memory where the system reports it per process (AMD's sysfs VRAM
 * counter; nvidia-smi's per-process used memory). On lavapipe "GPU memory" is host memory the driver
 * allocates inside this process, so RSS is the measure there.
 *
 *   npx tsx bench/webgpu-memory.ts [--generations 1000] [--every 100] [--model DIR] [--tokens 8]
 *
 * Exits 1 when a GPU tensor is still held at the end or adoptions and disposals differ.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadModel, resolveSettings, type SettingsLayer } from '../generation/index.js';
import { gpuLedger } from '../generation/runtime/gpu-kv-cache.js';

const { values } = parseArgs({
  options: {
    generations: { type: 'string', default: '1000' },
    every: { type: 'string', default: '100' },
    tokens: { type: 'string', default: '8' },
    model: {
      type: 'string',
      default: join(import.meta.dirname, '..', '..', 'shared', 'models', 'stories260K-onnx'),
    },
  },
});
const total = Number(values.generations);
const every = Number(values.every);
const tokens = Number(values.tokens);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mib = (n: number) => (n / 1024 / 1024).toFixed(1);

/** Per-process GPU memory where the driver reports it, in bytes; undefined elsewhere (lavapipe). */
function gpuMemory(): number | undefined {
  try {
    const out = execFileSync(
      'nvidia-smi',
      ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 },
    );
    const line = out.split('\n').find((l) => l.split(',')[0]?.trim() === String(process.pid));
    if (line) return Number(line.split(',')[1]) * 1024 * 1024;
  } catch {
    // No NVIDIA driver.
  }
  try {
    // AMD: device-wide VRAM in use (other processes count too, but a leak here still shows).
    const card = readdirSync('/sys/class/drm').find((n) => /^card\d+$/.test(n));
    if (card)
      return Number(readFileSync(`/sys/class/drm/${card}/device/mem_info_vram_used`, 'utf8'));
  } catch {
    // No amdgpu.
  }
  return undefined;
}

const generator = await loadModel(values.model!, { device: 'webgpu', inProcess: true });
console.log(
  `model ${values.model} on ${generator.info.device}, ${total} generations of ${tokens} tokens`,
);
const run = async (prompt: string | string[], layer: SettingsLayer, keepCache = false) => {
  const settings = resolveSettings(generator.info.generationDefaults, {
    do_sample: false,
    max_new_tokens: tokens,
    ...layer,
  });
  const request = Array.isArray(prompt)
    ? { prompt: '', prompts: prompt, settings, keepCache }
    : { prompt, settings, keepCache };
  for await (const event of generator.generate(request)) if (event.type === 'done') return event;
  throw new Error('no done event');
};

const samples: { generation: number; rss: number; heap: number; held: number; gpu?: number }[] = [];
const started = performance.now();
let chat = 'Once upon a time';
for (let i = 1; i <= total; i++) {
  if (i % 4 === 0) {
    // Chat: extend the kept cache, and every other turn restart from a shorter shared prefix (rewind).
    const done = await run(chat, {}, true);
    chat = i % 8 === 0 ? 'Once upon a' : `${chat}${done.sequences[0].text}`.slice(0, 300);
  } else if (i % 5 === 0) await run('Lily went', { num_beams: 2, num_return_sequences: 2 });
  else if (i % 7 === 0) await run(['The dog', 'A big red ball'], {});
  else await run('Once upon a time', {});
  if (i % every === 0) {
    gc();
    const m = process.memoryUsage();
    const s = {
      generation: i,
      rss: m.rss,
      heap: m.heapUsed,
      held: gpuLedger.held,
      gpu: gpuMemory(),
    };
    samples.push(s);
    console.log(
      `${String(i).padStart(5)}  rss ${mib(s.rss)} MiB  heap ${mib(s.heap)} MiB  GPU tensors held ${s.held} (adopted ${gpuLedger.adopted}, disposed ${gpuLedger.disposed})` +
        (s.gpu === undefined ? '' : `  GPU memory ${mib(s.gpu)} MiB`),
    );
  }
}
await generator.dispose();
const first = samples[0];
const last = samples[samples.length - 1];
const half = samples[Math.floor(samples.length / 2)];
console.log(
  `${((performance.now() - started) / 1000).toFixed(0)} s; RSS ${mib(first.rss)} → ${mib(last.rss)} MiB ` +
    `(${mib(last.rss - first.rss)} MiB after generation ${first.generation}, ${mib(last.rss - half.rss)} MiB over the second half)` +
    (first.gpu !== undefined && last.gpu !== undefined
      ? `; GPU memory ${mib(first.gpu)} → ${mib(last.gpu)} MiB`
      : '; no per-process GPU memory counter here (lavapipe: device memory is host memory, in RSS)'),
);
console.log(
  `after dispose: GPU tensors held ${gpuLedger.held}, adopted ${gpuLedger.adopted}, disposed ${gpuLedger.disposed}`,
);
if (gpuLedger.held !== 0 || gpuLedger.adopted !== gpuLedger.disposed) process.exit(1);
