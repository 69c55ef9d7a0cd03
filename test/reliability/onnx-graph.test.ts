// The ONNX structure reader behind the load-time checks: it reads inputs, outputs, nodes (subgraphs
// included) and initializer dims of real exports without loading weights, and gives up (undefined)
// on anything that is not an ONNX file instead of throwing.
import { test } from 'node:test';
import { sharedTest } from '../shared-fixtures.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOnnxGraph } from '../../generation/model/onnx-graph.js';
import { tableRows } from '../../generation/model/compatibility.js';
import { fixture, repoRoot } from './harness.js';

sharedTest('optimum GPT-2: token table 1000 rows, learned positions 128 rows', () => {
  const g = readOnnxGraph(fixture('tiny-random-gpt2', 'onnx', 'model.onnx'))!;
  assert.ok(
    g.inputs.some((i) => i.name === 'input_ids'),
    'the graph lists input_ids among its inputs',
  );
  assert.deepEqual(g.outputs.find((o) => o.name === 'logits')?.dims, [
    'batch_size',
    'sequence_length',
    1000,
  ]);
  assert.deepEqual(tableRows(g, 'input_ids', ['position_ids', 'attention_mask']), {
    tokens: 1000,
    positions: 128,
  });
});

sharedTest(
  'stories260K: RoPE tables gathered by position_ids count as the position table (512)',
  () => {
    const g = readOnnxGraph(fixture('stories260K-onnx', 'onnx', 'model.onnx'))!;
    assert.deepEqual(tableRows(g, 'input_ids', ['position_ids', 'attention_mask']), {
      tokens: 512,
      positions: 512,
    });
  },
);

sharedTest('genai exports: EmbedLayerNormalization and RotaryEmbedding caches', () => {
  const gpt2 = readOnnxGraph(fixture('ort-genai-tiny-random-gpt2-fp32', 'past.onnx'))!;
  assert.deepEqual(tableRows(gpt2, 'input_ids', ['position_ids', 'attention_mask']), {
    tokens: 1000,
    positions: 512,
  });
  const llama = readOnnxGraph(fixture('ort-genai-tiny-random-llama-fp16', 'model.onnx'))!;
  assert.deepEqual(tableRows(llama, 'input_ids', ['position_ids', 'attention_mask']), {
    tokens: 32000,
    positions: 2048,
  });
});

sharedTest(
  'T5: the relative-position bucket table (indices from shapes) is not a token or position table',
  () => {
    const g = readOnnxGraph(fixture('tiny-random-t5', 'onnx', 'decoder_model_merged.onnx'))!;
    assert.ok(
      g.inputs.some((i) => i.name === 'encoder_hidden_states'),
      'the decoder lists encoder_hidden_states',
    );
    assert.ok(
      g.nodes.some((n) => n.op === 'If'),
      'the merged decoder has an If node',
    );
    assert.deepEqual(tableRows(g, 'input_ids', ['position_ids', 'attention_mask']), {
      tokens: 1000,
      positions: undefined,
    });
  },
);

test('the default model', () => {
  const g = readOnnxGraph(join(repoRoot, 'models', 'default', 'onnx', 'model.onnx'))!;
  assert.deepEqual(tableRows(g, 'input_ids', ['position_ids', 'attention_mask']), {
    tokens: 2048,
    positions: 256,
  });
});

test('not ONNX: undefined, never a throw', () => {
  const dir = mkdtempSync(join(tmpdir(), 'textgen-onnx-'));
  try {
    const cases: Record<string, Uint8Array | string> = {
      empty: '',
      text: 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n',
      truncated: new Uint8Array([0x3a, 0xff, 0xff, 0x7f]),
      garbage: new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256)),
      'bad-varint': new Uint8Array(Array.from({ length: 12 }, () => 0xff)),
    };
    for (const [name, data] of Object.entries(cases)) {
      const path = join(dir, name);
      writeFileSync(path, data);
      assert.equal(readOnnxGraph(path), undefined, name);
    }
    assert.equal(readOnnxGraph(join(dir, 'missing.onnx')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
