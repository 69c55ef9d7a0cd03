// Every architecture `textgen convert` maps (Llama 3 rope scaling, Llama linear scaling with q/k/v/o and
// MLP biases, Mistral, Qwen2, Qwen3, Phi-3, prefix-less GPT-2) converted from the tiny random
// checkpoints in test/fixtures/convert and compared with their goldens, which come from an independent
// numpy forward pass (make_fixtures.py), not from textgen: exact greedy ids and per-token NLLs in
// textgen (fused zero-copy graph and transformers.js-compatible file), and greedy ids in
// transformers.js 4.3.1 on the converted onnx/model.onnx.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, AutoModelForCausalLM, Tensor } from '@huggingface/transformers';
import { loadModel } from '../../../generation/index.js';
import { convertCheckpoint } from '../../../generation/convert/convert.js';
import { generateAll, repoRoot } from '../fixtures.js';
import { withoutFused } from './helpers.js';

const FIXTURES = join(repoRoot, 'test', 'fixtures', 'convert');
const names = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

interface Golden {
  family: string;
  cases: Array<{
    prompt: string;
    prompt_ids: number[];
    generated_ids: number[];
    token_nll: number[];
  }>;
}

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'textgen-convert-arch-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('the fixtures cover every family textgen convert reads', () => {
  const families = names.map(
    (n) => (JSON.parse(readFileSync(join(FIXTURES, n, 'golden.json'), 'utf8')) as Golden).family,
  );
  assert.deepEqual([...new Set(families)].sort(), [
    'gpt2',
    'llama',
    'mistral',
    'phi3',
    'qwen2',
    'qwen3',
  ]);
});

for (const name of names) {
  const golden = JSON.parse(readFileSync(join(FIXTURES, name, 'golden.json'), 'utf8')) as Golden;

  test(`${name}: converted fp32 model gives the reference greedy ids and per-token NLLs`, async () => {
    const out = join(root, name);
    convertCheckpoint({ source: join(FIXTURES, name), output: out, dtype: 'fp32' });
    // The fused graph (zero-copy cache), and the transformers.js-compatible file alone (growing cache).
    await checkGolden(out, 'zero-copy');
    const plain = withoutFused(out);
    try {
      await checkGolden(plain.dir, 'growing');
    } finally {
      plain.cleanup();
    }
  });

  async function checkGolden(dir: string, layout: string): Promise<void> {
    const model = await loadModel(dir, { inProcess: true });
    assert.equal(model.info.cacheLayout, layout);
    try {
      for (const c of golden.cases) {
        assert.deepEqual(await model.tokenize(c.prompt), c.prompt_ids, c.prompt);
        const { done } = await generateAll(model, c.prompt, {
          max_new_tokens: c.generated_ids.length,
        });
        assert.deepEqual(done.sequences[0].token_ids, c.generated_ids, c.prompt);
        const ids = [...c.prompt_ids, ...c.generated_ids];
        const scored = await model.score({ ids, scoreFrom: 1, perToken: true });
        c.token_nll.forEach((ref, i) =>
          assert.ok(
            Math.abs(scored.tokenNll![i] - ref) < 1e-4,
            `${layout} ${c.prompt} position ${i + 1}: ${scored.tokenNll![i]} vs reference ${ref}`,
          ),
        );
      }
    } finally {
      await model.dispose();
    }
  }

  test(`${name}: transformers.js runs the converted model/onnx and gives the same greedy ids`, async () => {
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const peer = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
    try {
      for (const c of golden.cases) {
        const n = c.prompt_ids.length;
        const out = (await peer.generate({
          input_ids: new Tensor('int64', BigInt64Array.from(c.prompt_ids.map(BigInt)), [1, n]),
          attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
          max_new_tokens: c.generated_ids.length,
          do_sample: false,
        })) as { tolist(): bigint[][] };
        assert.deepEqual(out.tolist()[0].slice(n).map(Number), c.generated_ids, c.prompt);
      }
    } finally {
      await (peer as unknown as { dispose(): Promise<unknown> }).dispose();
    }
  });
}
