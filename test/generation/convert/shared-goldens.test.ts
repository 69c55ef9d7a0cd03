// The Hugging Face checkpoints in ../shared/models converted by `textgen convert` against the
// reference outputs of the original models: stories260K-hf (fp32) gives llama2.c's greedy ids through
// the fused zero-copy graph and the growing-cache file and its by-line perplexity equals the golden;
// the bf16 two-shard copy stays within 0.2% of it; tiny-random-gpt2-hf gives the PyTorch golden ids;
// transformers.js 4.3.1 gives the same ids on the converted onnx/model.onnx.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, AutoModelForCausalLM, Tensor } from '@huggingface/transformers';
import { loadModel } from '../../../generation/index.js';
import { convertCheckpoint } from '../../../generation/convert/convert.js';
import { fixture, generateAll, repoRoot } from '../fixtures.js';
import { gpt2Golden, storiesGolden, type Gpt2Golden, type StoriesGolden } from '../goldens.js';
import { withoutFused } from './helpers.js';
// Every test here uses the fixture checkpoints: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../../shared-fixtures.js';

let stories: StoriesGolden;
let gpt2: Gpt2Golden;
const SAMPLE = fixture('corpus-tinystories-sample', 'tinystories-sample.txt');
let root: string;

before(() => {
  stories = storiesGolden();
  gpt2 = gpt2Golden();
  root = mkdtempSync(join(tmpdir(), 'textgen-convert-shared-'));
  for (const name of ['stories260K-hf', 'stories260K-hf-bf16-sharded', 'tiny-random-gpt2-hf'])
    convertCheckpoint({ source: fixture(name), output: join(root, name), dtype: 'fp32' });
});
after(() => rmSync(root, { recursive: true, force: true }));

/** `textgen perplexity --by-line --json` on the sample, through the built CLI. */
function byLineNll(dir: string): number {
  const out = execFileSync(
    process.execPath,
    [
      join(repoRoot, 'bin', 'textgen.js'),
      'perplexity',
      '--model',
      dir,
      '--by-line',
      '--json',
      SAMPLE,
    ],
    { encoding: 'utf8', env: { ...process.env, TEXTGEN_TEST: '1' } },
  );
  return (JSON.parse(out) as { mean_nll: number }).mean_nll;
}

for (const fused of [true, false]) {
  const layout = fused ? 'zero-copy' : 'growing';
  test(`stories260K-hf (${layout}): llama2.c's greedy ids from "Once upon a time" and from BOS`, async () => {
    const view = fused ? undefined : withoutFused(join(root, 'stories260K-hf'));
    const model = await loadModel(view?.dir ?? join(root, 'stories260K-hf'), { inProcess: true });
    try {
      assert.equal(model.info.cacheLayout, layout);
      const g = stories.prompt_once_upon_a_time_greedy_60;
      assert.deepEqual(await model.tokenize(g.prompt), g.prompt_ids);
      const once = await generateAll(model, g.prompt, { max_new_tokens: 60 });
      assert.deepEqual(once.done.sequences[0].token_ids, g.generated_ids);
      assert.equal(once.done.sequences[0].text, g.continuation_text);
      const bos = await generateAll(model, '', { max_new_tokens: 200 });
      assert.deepEqual(bos.done.sequences[0].token_ids, stories.bos_only_greedy_200.generated_ids);
    } finally {
      await model.dispose();
      view?.cleanup();
    }
  });
}

test('stories260K-hf: --by-line perplexity equals the golden; the bf16 shards stay within 0.2%', () => {
  const golden =
    stories.perplexity_reference['corpus-tinystories-sample/tinystories-sample.txt'].mean_nll;
  const fp32 = byLineNll(join(root, 'stories260K-hf'));
  assert.ok(Math.abs(fp32 - golden) / golden < 1e-4, `fp32 mean NLL ${fp32} vs golden ${golden}`);
  const growing = withoutFused(join(root, 'stories260K-hf'));
  try {
    const plain = byLineNll(growing.dir);
    assert.ok(Math.abs(plain - golden) / golden < 1e-4, `growing ${plain} vs golden ${golden}`);
  } finally {
    growing.cleanup();
  }
  const bf16 = byLineNll(join(root, 'stories260K-hf-bf16-sharded'));
  const ratio = Math.exp(bf16) / Math.exp(fp32);
  assert.ok(Math.abs(ratio - 1) < 0.002, `bf16/fp32 perplexity ratio ${ratio}`);
});

test('tiny-random-gpt2-hf: the PyTorch golden ids for the 4 prompts, alone and as a padded batch', async () => {
  const model = await loadModel(join(root, 'tiny-random-gpt2-hf'), { inProcess: true });
  try {
    assert.equal(model.info.contextLength, 128);
    for (const g of gpt2.greedy) {
      const { done } = await generateAll(model, g.prompt, { max_new_tokens: 30 });
      assert.deepEqual(done.sequences[0].token_ids, g.generated_ids, g.prompt);
      assert.equal(done.sequences[0].text, g.continuation_text, g.prompt);
    }
    const prompts = gpt2.greedy.map((g: { prompt: string }) => g.prompt);
    const { done } = await generateAll(model, prompts, { max_new_tokens: 30 });
    gpt2.greedy.forEach((g: { generated_ids: number[] }, i: number) =>
      assert.deepEqual(done.sequences[i].token_ids, g.generated_ids),
    );
  } finally {
    await model.dispose();
  }
});

test('transformers.js loads the converted stories260K-hf and gpt2 folders and gives the golden ids', async () => {
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const cases: Array<[string, number[], number[]]> = [
    [
      'stories260K-hf',
      stories.prompt_once_upon_a_time_greedy_60.prompt_ids,
      stories.prompt_once_upon_a_time_greedy_60.generated_ids,
    ],
    ...gpt2.greedy.map(
      (g: { prompt_ids: number[]; generated_ids: number[] }) =>
        ['tiny-random-gpt2-hf', g.prompt_ids, g.generated_ids] as [string, number[], number[]],
    ),
  ];
  for (const [name, prompt, expected] of cases) {
    const peer = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
    const n = prompt.length;
    const out = (await peer.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, n]),
      attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
      max_new_tokens: expected.length,
      do_sample: false,
    })) as { tolist(): bigint[][] };
    assert.deepEqual(out.tolist()[0].slice(n).map(Number), expected, name);
    await (peer as unknown as { dispose(): Promise<unknown> }).dispose();
  }
});
