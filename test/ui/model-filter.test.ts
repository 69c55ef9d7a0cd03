import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterModels, modelColumns } from '../../ui/model-filter.js';
import type { ModelEntry } from '../../ui/types.js';

const m = (id: string, architecture: string): ModelEntry => ({
  id,
  path: `/x/${id}`,
  sizeBytes: 2048,
  architecture,
  task: 'text-generation',
  dtypes: ['fp32', 'q4'],
  contextLength: 2048,
});
const models = [
  m('Xenova/gpt2', 'GPT2LMHeadModel'),
  m('HuggingFaceTB/SmolLM2-135M', 'LlamaForCausalLM'),
  m('local/tiny', 'LlamaForCausalLM'),
];

test('filterModels matches every word in id or architecture, ignoring case', () => {
  const ids = (q: string) => filterModels(models, q).map((x) => x.id);
  assert.deepEqual(ids(''), ['Xenova/gpt2', 'HuggingFaceTB/SmolLM2-135M', 'local/tiny']);
  assert.deepEqual(ids('llama'), ['HuggingFaceTB/SmolLM2-135M', 'local/tiny']);
  assert.deepEqual(ids('LLAMA local'), ['local/tiny']);
  assert.deepEqual(ids('bert'), []);
});

test('modelColumns', () => {
  assert.deepEqual(modelColumns(models[0]), [
    'Xenova/gpt2',
    '2 KiB',
    'GPT2LMHeadModel',
    'ctx 2048',
    'fp32,q4',
  ]);
  assert.equal(modelColumns({ ...models[0], dtypes: [] })[4], '—');
});
