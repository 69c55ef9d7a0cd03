// WebGPU against the CPU provider, where a WebGPU adapter exists (lavapipe counts: CI installs it;
// .ci/run). Greedy ids must be identical for stories260K (trained), tiny-random-gpt2 and
// tiny-random-t5 (goldens too), for left-padded batches, beams with num_return_sequences, chat KV
// reuse (prefix kept, rewound on the GPU) and the fp16 genai model (fp16 cache on the GPU). Every GPU
// tensor the caches took over is disposed exactly once. Elsewhere each test is skipped with the reason.
import assert from 'node:assert/strict';
import { loadModel, type TextGenerator } from '../../../generation/index.js';
import { gpuLedger } from '../../../generation/runtime/gpu-kv-cache.js';
import { webgpuBundled, webgpuState, webgpuVerdict } from '../../../generation/runtime/ort.js';
import { probeAdapter } from '../../../generation/runtime/webgpu-probe.js';
import { fixture, generateAll, type Collected } from '../fixtures.js';
import { gpt2Golden, storiesGolden, t5Golden } from '../goldens.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import { sharedAfter as after, sharedTest as test } from '../../shared-fixtures.js';

const probe = webgpuBundled() ? await probeAdapter() : undefined;
const skip = !probe
  ? 'this onnxruntime-node build has no WebGPU provider'
  : !probe.ok &&
    `no WebGPU adapter here (${probe.detail}); install a Vulkan driver (README, "GPU")`;

const open: TextGenerator[] = [];
async function both(dir: string): Promise<[TextGenerator, TextGenerator]> {
  const cpu = await loadModel(dir, { device: 'cpu', inProcess: true });
  const gpu = await loadModel(dir, { device: 'webgpu', inProcess: true });
  open.push(cpu, gpu);
  assert.equal(gpu.info.device, 'webgpu');
  return [cpu, gpu];
}

after(async () => {
  for (const g of open) await g.dispose();
  if (!skip) {
    // Every present the caches adopted was released once (a second release throws inside).
    assert.equal(gpuLedger.held, 0);
    assert.equal(gpuLedger.disposed, gpuLedger.adopted);
  }
});

const sequences = (c: Collected) => c.done.sequences.map((s) => s.token_ids);

test(
  'stories260K: greedy ids equal the CPU provider and the llama2.c golden',
  { skip },
  async () => {
    const [cpu, gpu] = await both(fixture('stories260K-onnx'));
    const g = storiesGolden().prompt_once_upon_a_time_greedy_60;
    const want = await generateAll(cpu, g.prompt, { max_new_tokens: 60 });
    const got = await generateAll(gpu, g.prompt, { max_new_tokens: 60 });
    assert.deepEqual(sequences(got), sequences(want));
    assert.deepEqual(sequences(got)[0], g.generated_ids);
    assert.ok(gpuLedger.adopted >= 60 * 10, 'the presents came back as GPU tensors');
  },
);

test(
  'stories260K: with the cache copied through the host instead (kvOnGpu false)',
  { skip },
  async () => {
    const cpu = await loadModel(fixture('stories260K-onnx'), { device: 'cpu', inProcess: true });
    const gpu = await loadModel(fixture('stories260K-onnx'), {
      device: 'webgpu',
      kvOnGpu: false,
      inProcess: true,
    });
    open.push(cpu, gpu);
    const adopted = gpuLedger.adopted;
    const want = await generateAll(cpu, 'Once upon a time', { max_new_tokens: 20 });
    const got = await generateAll(gpu, 'Once upon a time', { max_new_tokens: 20 });
    assert.deepEqual(sequences(got), sequences(want));
    assert.equal(gpuLedger.adopted, adopted, 'no GPU tensors were handed out');
  },
);

test('stories260K: a left-padded batch of three prompts', { skip }, async () => {
  const [cpu, gpu] = await both(fixture('stories260K-onnx'));
  const prompts = ['Once upon a time', 'Lily', 'The little dog ran to the park and'];
  const want = await generateAll(cpu, prompts, { max_new_tokens: 24 });
  const got = await generateAll(gpu, prompts, { max_new_tokens: 24 });
  assert.deepEqual(sequences(got), sequences(want));
});

test(
  'stories260K: beams with num_return_sequences (rows reordered on the GPU)',
  { skip },
  async () => {
    const [cpu, gpu] = await both(fixture('stories260K-onnx'));
    const layer = { num_beams: 3, num_return_sequences: 3, max_new_tokens: 16 };
    const want = await generateAll(cpu, 'Once upon a time', layer);
    const got = await generateAll(gpu, 'Once upon a time', layer);
    assert.deepEqual(sequences(got), sequences(want));
    assert.equal(got.done.sequences.length, 3);
  },
);

test(
  'stories260K: chat KV reuse keeps the prefix and rewinds it on the GPU',
  { skip },
  async () => {
    const [cpu, gpu] = await both(fixture('stories260K-onnx'));
    const turn = async (g: TextGenerator, prompt: string) =>
      generateAll(g, prompt, { max_new_tokens: 12 }, { keepCache: true });
    const runs: Collected[][] = [];
    for (const g of [cpu, gpu]) {
      const first = await turn(g, 'Once upon a time');
      const extended = `Once upon a time${first.done.sequences[0].text} Then`;
      // The third prompt shares only "Once upon a" with the cache: the GPU cache is cut back.
      runs.push([first, await turn(g, extended), await turn(g, 'Once upon a day')]);
    }
    const [want, got] = runs;
    for (let i = 0; i < 3; i++)
      assert.deepEqual(sequences(got[i]), sequences(want[i]), `turn ${i}`);
    assert.ok(got[1].done.stats.cachedTokens! > 0, 'turn 2 reused the cache');
    assert.ok(got[2].done.stats.cachedTokens! > 0, 'turn 3 reused a rewound prefix');
    assert.equal(got[2].done.stats.cachedTokens, want[2].done.stats.cachedTokens);
  },
);

test(
  'tiny-random-gpt2: greedy ids equal the CPU provider and the PyTorch golden',
  { skip },
  async () => {
    const [cpu, gpu] = await both(fixture('tiny-random-gpt2'));
    const golden = gpt2Golden();
    for (const g of golden.greedy.slice(0, 2)) {
      const want = await generateAll(cpu, g.prompt, { max_new_tokens: 30 });
      const got = await generateAll(gpu, g.prompt, { max_new_tokens: 30 });
      assert.deepEqual(sequences(got), sequences(want), g.prompt);
      assert.deepEqual(sequences(got)[0], g.generated_ids, g.prompt);
    }
  },
);

test(
  'tiny-random-t5: greedy and beam ids equal the CPU provider (self and cross K/V on the GPU)',
  { skip },
  async () => {
    const [cpu, gpu] = await both(fixture('tiny-random-t5'));
    const golden = t5Golden();
    const g = golden.greedy.cases[0];
    const want = await generateAll(cpu, g.text, { max_new_tokens: 20 });
    const got = await generateAll(gpu, g.text, { max_new_tokens: 20 });
    assert.deepEqual(sequences(got), sequences(want));
    assert.deepEqual(sequences(got)[0], g.generated_ids);
    const beams = { num_beams: 2, num_return_sequences: 2, max_new_tokens: 12 };
    const prompts = [g.text, golden.greedy.cases[1].text];
    for (const prompt of prompts)
      assert.deepEqual(
        sequences(await generateAll(gpu, prompt, beams)),
        sequences(await generateAll(cpu, prompt, beams)),
      );
    assert.deepEqual(
      sequences(await generateAll(gpu, prompts, { max_new_tokens: 12 })),
      sequences(await generateAll(cpu, prompts, { max_new_tokens: 12 })),
    );
  },
);

test('fp16 genai Llama: the fp16 cache stays fp16 on the GPU and ids match', { skip }, async () => {
  const [cpu, gpu] = await both(fixture('ort-genai-tiny-random-llama-fp16'));
  assert.equal(gpu.info.dtype, 'fp16');
  const before = gpuLedger.types.float16 ?? 0;
  const layer = { max_new_tokens: 12, min_new_tokens: 12 };
  const want = await generateAll(cpu, 'Hello world', layer);
  const got = await generateAll(gpu, 'Hello world', layer);
  assert.deepEqual(sequences(got), sequences(want));
  // 2 layers × K and V × 12 steps of fp16 presents, never converted.
  assert.equal((gpuLedger.types.float16 ?? 0) - before, 48);
});

test(
  'auto never takes a software adapter: the hardware probe does not see lavapipe',
  { skip },
  async () => {
    const files = webgpuState();
    // With no driver visible the loader has nothing: no adapter, whatever is installed.
    assert.equal((await probeAdapter({ drivers: [] })).ok, false);
    const software = files.drivers.filter((d) => d.software);
    // The restriction is what hides them: the software drivers alone do answer.
    if (software.length > 0) assert.equal((await probeAdapter({ drivers: software })).ok, true);
    const verdict = await webgpuVerdict();
    if (files.backend === 'vulkan' && files.drivers.every((d) => d.software))
      assert.equal(verdict.hardware, false);
    if (!verdict.hardware) assert.match(verdict.reason ?? '', /^no hardware WebGPU adapter: /);
  },
);
