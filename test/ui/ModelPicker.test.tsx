import { test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { render } from 'ink-testing-library';
import { ModelPicker } from '../../ui/ModelPicker.js';
import type { ModelEntry } from '../../ui/types.js';
import { inputReady, KEYS, waitFor } from './scripted-engine.js';

const models: ModelEntry[] = [
  {
    id: 'Xenova/gpt2',
    path: '/c/gpt2',
    sizeBytes: 130 * 1024 * 1024,
    architecture: 'GPT2LMHeadModel',
    task: 'text-generation',
    dtypes: ['fp32', 'q8'],
    contextLength: 1024,
  },
  {
    id: 'local/stories',
    path: '/c/stories',
    sizeBytes: 1536 * 1024,
    architecture: 'LlamaForCausalLM',
    task: 'text-generation',
    dtypes: ['fp32'],
    contextLength: 512,
  },
  {
    id: 'Xenova/t5-small',
    path: '/c/t5',
    sizeBytes: 300 * 1024 * 1024,
    architecture: 'T5ForConditionalGeneration',
    task: 'text2text-generation',
    dtypes: ['q8'],
    contextLength: 512,
  },
];

test('the picker lists id, size, architecture, context length and dtypes, with the last model selected', () => {
  const { lastFrame } = render(
    <ModelPicker models={models} initialId="local/stories" onSelect={() => {}} />,
  );
  const frame = lastFrame()!;
  assert.match(frame, /Xenova\/gpt2\s+130 MiB\s+GPT2LMHeadModel\s+ctx 1024\s+fp32,q8/);
  assert.match(frame, /› local\/stories\s+1\.5 MiB\s+LlamaForCausalLM\s+ctx 512\s+fp32/);
});

test('arrow keys move and Enter picks', async () => {
  const picked: string[] = [];
  const { stdin } = render(<ModelPicker models={models} onSelect={(m) => picked.push(m.id)} />);
  await inputReady(stdin);
  stdin.write(KEYS.down);
  stdin.write(KEYS.down);
  stdin.write(KEYS.up);
  stdin.write(KEYS.enter);
  await waitFor(() => assert.deepEqual(picked, ['local/stories']));
});

test('typing filters (on id and architecture) and Backspace widens again', async () => {
  const picked: string[] = [];
  const { stdin, lastFrame } = render(
    <ModelPicker models={models} onSelect={(m) => picked.push(m.id)} />,
  );
  await inputReady(stdin);
  stdin.write('t5');
  await waitFor(() => assert.match(lastFrame()!, /Filter: t5/));
  assert.doesNotMatch(lastFrame()!, /gpt2/);
  stdin.write(KEYS.backspace);
  stdin.write(KEYS.backspace);
  stdin.write('llama');
  await waitFor(() => assert.match(lastFrame()!, /› local\/stories/));
  stdin.write(KEYS.enter);
  await waitFor(() => assert.deepEqual(picked, ['local/stories']));
});

test('an empty cache says how to get a model', () => {
  const { lastFrame } = render(<ModelPicker models={[]} onSelect={() => {}} />);
  assert.match(lastFrame()!, /No models found/);
});

test('Esc goes back only when a cancel handler is given', async () => {
  let cancelled = 0;
  const { stdin, lastFrame } = render(
    <ModelPicker models={models} onSelect={() => {}} onCancel={() => cancelled++} />,
  );
  assert.match(lastFrame()!, /Esc back/);
  await inputReady(stdin);
  stdin.write(KEYS.esc);
  await waitFor(() => assert.equal(cancelled, 1));
});

test('a burst of filter text and Enter in one chunk picks the match', async () => {
  const picked: string[] = [];
  const { stdin } = render(<ModelPicker models={models} onSelect={(m) => picked.push(m.id)} />);
  await inputReady(stdin);
  stdin.write('t5\r');
  await waitFor(() => assert.deepEqual(picked, ['Xenova/t5-small']));
});
