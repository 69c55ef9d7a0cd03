// Continuous batching on real models: requests that join and leave a running batch (left padding,
// per-row positions, attention masks) produce exactly the greedy ids each one produces alone, on
// stories260K (its golden ids), random Llama and GPT-2 decoders written for the test, and the
// onnxruntime-genai exports; and the mode each graph gets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadModel,
  resolveSettings,
  type GenerationEvent,
  type SettingsLayer,
  type TextGenerator,
} from '../../../generation/index.js';
import { PRESETS, writeRandomModel } from '../../../generation/onnx-writer/random-model.js';
import { webgpuBundled } from '../../../generation/runtime/ort.js';
import { probeAdapter } from '../../../generation/runtime/webgpu-probe.js';
import { fixture, needsShared } from '../fixtures.js';
import { storiesGolden } from '../goldens.js';
import { sharedDescribe, sharedMissing } from '../../shared-fixtures.js';

const PROMPTS = ['Once upon a time', 'Sam', 'The dog was sad because', '', 'Mom said no', 'A'];

interface Run {
  ids: number[];
  text: string;
  /** The most rows the batch held while this request ran. */
  maxRows: number;
}

/** Greedy ids of one request; `onToken` sees how many tokens arrived so far. */
async function run(
  model: TextGenerator,
  prompt: string,
  layer: SettingsLayer,
  onToken?: (count: number) => void,
): Promise<Run> {
  const settings = resolveSettings(model.info.generationDefaults, { temperature: 0, ...layer });
  const ids: number[] = [];
  let maxRows = 0;
  for await (const event of model.generate({
    prompt,
    settings,
  }) as AsyncGenerator<GenerationEvent>) {
    maxRows = Math.max(maxRows, model.batchStatus?.()?.rows ?? 0);
    if (event.type === 'token' && event.id >= 0) {
      ids.push(event.id);
      onToken?.(ids.length);
    }
    if (event.type === 'done') return { ids, text: event.sequences[0].text, maxRows };
  }
  throw new Error('no done event');
}

/**
 * Starts the prompts one after another, each once the previous one has produced `gap` tokens (or
 * finished), so every request joins a batch that is already decoding; resolves in prompt order.
 */
async function staggered(
  model: TextGenerator,
  prompts: string[],
  layer: SettingsLayer,
  gap = 3,
): Promise<Run[]> {
  const runs: Array<Promise<Run>> = [];
  const start = (i: number): void => {
    if (i >= prompts.length || runs.length > i) return;
    runs[i] = run(model, prompts[i], layer, (count) => {
      if (count >= gap) start(i + 1);
    }).finally(() => start(i + 1));
  };
  start(0);
  const out: Run[] = [];
  // runs[i + 1] exists once runs[i] has settled.
  for (let i = 0; i < prompts.length; i++) out.push(await runs[i]);
  return out;
}

/** Loads `dir` twice (alone and with `parallel` rows) and compares staggered runs with solo ones. */
function checkModel(
  name: string,
  dir: () => string,
  layer: SettingsLayer,
  mode: string,
  options: { skip?: string | false } = {},
) {
  describe(name, options, () => {
    let solo: TextGenerator;
    let batched: TextGenerator;
    before(async () => {
      solo = await loadModel(dir(), { inProcess: true, threads: 1 });
      batched = await loadModel(dir(), { inProcess: true, threads: 1, parallel: 4 });
    });
    after(async () => {
      await solo?.dispose();
      await batched?.dispose();
    });

    test(`runs in ${mode} mode`, () => {
      assert.equal(batched.batchStatus?.()?.mode, mode);
      assert.equal(solo.batchStatus?.(), undefined);
    });

    test('greedy ids of requests joining a running batch equal their ids alone', async () => {
      const alone: Run[] = [];
      for (const p of PROMPTS) alone.push(await run(solo, p, layer));
      const together = await staggered(batched, PROMPTS, layer);
      together.forEach((r, i) => {
        assert.deepEqual(r.ids, alone[i].ids, `prompt ${JSON.stringify(PROMPTS[i])}`);
        assert.equal(r.text, alone[i].text);
      });
      if (mode === 'continuous')
        assert.ok(
          together.some((r) => r.maxRows >= 3),
          'together.some((r) => r.maxRows >= 3)',
        );
      assert.equal(batched.batchStatus?.()?.rows, 0);
    });
  });
}

sharedDescribe('stories260K golden ids inside a batch', () => {
  const golden = storiesGolden().prompt_once_upon_a_time_greedy_60;
  let model: TextGenerator;
  before(async () => {
    model = await loadModel(fixture('stories260K-onnx'), { inProcess: true, parallel: 8 });
  });
  after(() => model?.dispose());

  test('the golden continuation is decoded among other requests', async () => {
    const others = ['Sam', 'The cat', 'Lily and Ben went to the park'].map((p) =>
      run(model, p, { max_new_tokens: 80, suppress_tokens: [1, 2] }),
    );
    const target = await run(model, golden.prompt, {
      max_new_tokens: golden.generated_ids.length,
      suppress_tokens: [1, 2],
    });
    await Promise.all(others);
    assert.deepEqual(target.ids, golden.generated_ids);
    assert.ok(target.maxRows >= 2, 'target.maxRows >= 2');
  });
});

checkModel(
  'stories260K',
  () => fixture('stories260K-onnx'),
  { max_new_tokens: 30, suppress_tokens: [1, 2] },
  'continuous',
  needsShared,
);

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'textgen-batch-'));
  writeRandomModel(join(tmp, 'llama'), PRESETS['llama-tiny'], 3);
  writeRandomModel(join(tmp, 'gpt2'), PRESETS['gpt2-tiny'], 4);
  writeRandomModel(join(tmp, 'no-past'), PRESETS['llama-tiny'], 5, 'no-past');
  writeRandomModel(join(tmp, 'fused'), PRESETS['llama-tiny'], 6, 'fused');
  writeRandomModel(join(tmp, 'fused-gpt2'), PRESETS['gpt2-tiny'], 7, 'fused');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

checkModel('random Llama', () => join(tmp, 'llama'), { max_new_tokens: 20 }, 'continuous');
checkModel('random GPT-2', () => join(tmp, 'gpt2'), { max_new_tokens: 20 }, 'continuous');
checkModel(
  'random Llama, fused graph (zero-copy cache)',
  () => join(tmp, 'fused'),
  { max_new_tokens: 20 },
  'continuous',
);
checkModel(
  'random GPT-2, fused graph (zero-copy cache)',
  () => join(tmp, 'fused-gpt2'),
  { max_new_tokens: 20 },
  'continuous',
);
checkModel(
  'random Llama without a KV cache',
  () => join(tmp, 'no-past'),
  { max_new_tokens: 12 },
  'continuous',
);
checkModel(
  'onnxruntime-genai GPT-2',
  () => fixture('ort-genai-tiny-random-gpt2-fp32'),
  { max_new_tokens: 12 },
  'continuous',
  needsShared,
);
checkModel(
  'onnxruntime-genai Llama (fp16 cache)',
  () => fixture('ort-genai-tiny-random-llama-fp16'),
  { max_new_tokens: 12 },
  'continuous',
  needsShared,
);
checkModel(
  'tiny-random-gpt2',
  () => fixture('tiny-random-gpt2'),
  { max_new_tokens: 12 },
  'continuous',
  needsShared,
);

const probe = webgpuBundled() ? await probeAdapter() : undefined;
const noGpu = !probe
  ? 'this onnxruntime-node build has no WebGPU provider'
  : !probe.ok && `no WebGPU adapter here (${probe.detail})`;

test(
  'a cache kept on the GPU runs in static mode: requests that start together',
  { skip: sharedMissing ?? noGpu },
  async () => {
    const dir = fixture('stories260K-onnx');
    const gpu = await loadModel(dir, { device: 'webgpu', inProcess: true, parallel: 4 });
    const cpu = await loadModel(dir, { inProcess: true, threads: 1 });
    try {
      assert.equal(gpu.batchStatus?.()?.mode, 'static');
      const layer = { max_new_tokens: 12, suppress_tokens: [1, 2] };
      const prompts = ['Once upon a time', 'Sam', 'The dog was sad because'];
      const together = await Promise.all(prompts.map((p) => run(gpu, p, layer)));
      assert.ok(
        together.some((r) => r.maxRows === 3),
        'together.some((r) => r.maxRows === 3)',
      );
      for (let i = 0; i < prompts.length; i++)
        assert.deepEqual(together[i].ids, (await run(cpu, prompts[i], layer)).ids, prompts[i]);
      assert.equal(gpu.batchStatus?.()?.rows, 0);
    } finally {
      await gpu.dispose();
      await cpu.dispose();
    }
  },
);
