// quantizeModel on a folder: its events, an abort that leaves no file the loader would pick, every file
// of an encoder-decoder set written, and the loader's automatic dtype preferring a variant textgen
// wrote — while its files are the ones textgen wrote.
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AbortedError } from '../../../generation/errors.js';
import { quantizeModel, type QuantizeEvent } from '../../../generation/index.js';
import { inspectModelFolder, selectDtype } from '../../../generation/model/model-folder.js';
import { fixture, linkFolder, type TempFolder } from '../fixtures.js';
// Every test here quantizes the fixture models: skipped, with the reason, when they are missing.
import { sharedAfter as after, sharedTest as test } from '../../shared-fixtures.js';

const folders: TempFolder[] = [];
after(() => {
  for (const f of folders) f.cleanup();
});

function folder(name: string, files: string[]): string {
  const f = linkFolder(Object.fromEntries(files.map((n) => [n, fixture(name, n)])));
  folders.push(f);
  return f.dir;
}

const STORIES = [
  'onnx/model.onnx',
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

test('an abort while writing leaves neither the variant nor a temp file', async () => {
  const dir = folder('stories260K-onnx', STORIES);
  const before = readdirSync(join(dir, 'onnx'));
  const controller = new AbortController();
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const e of quantizeModel({ dir, dtype: 'q4', signal: controller.signal })) {
      seen.push(e.type);
      if (e.type === 'start') controller.abort();
    }
  }, AbortedError);
  assert.deepEqual(seen, ['start']);
  assert.deepEqual(readdirSync(join(dir, 'onnx')), before);
  assert.deepEqual(inspectModelFolder(dir).dtypes, ['fp32']);
});

test('the automatic dtype prefers the variant textgen wrote, newest first, while intact', async () => {
  const dir = folder('stories260K-onnx', STORIES);
  assert.equal(selectDtype(inspectModelFolder(dir), undefined), 'fp32');
  const events: QuantizeEvent[] = [];
  for await (const e of quantizeModel({ dir, dtype: 'int8', check: false })) events.push(e);
  assert.deepEqual(
    events.map((e) => e.type),
    ['start', 'progress', 'written', 'done'],
  );
  assert.equal(selectDtype(inspectModelFolder(dir), 'auto'), 'int8');
  for await (const _ of quantizeModel({ dir, dtype: 'q4', check: false }));
  assert.deepEqual(inspectModelFolder(dir).quantizedByTextgen, ['q4', 'int8']);
  assert.equal(selectDtype(inspectModelFolder(dir), undefined), 'q4');
  assert.equal(selectDtype(inspectModelFolder(dir), 'fp32'), 'fp32');
  // A variant file that changed since (a download over it, an edit) is no longer textgen's.
  appendFileSync(join(dir, 'onnx', 'model_q4.onnx'), Buffer.alloc(1));
  assert.equal(selectDtype(inspectModelFolder(dir), undefined), 'int8');
});

test('an encoder-decoder set: every file gets the suffix, the encoder renamed last', async () => {
  const dir = folder('tiny-random-t5', [
    'onnx/encoder_model.onnx',
    'onnx/decoder_model.onnx',
    'onnx/decoder_with_past_model.onnx',
    'onnx/decoder_model_merged.onnx',
    'config.json',
    'generation_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  const events: QuantizeEvent[] = [];
  for await (const e of quantizeModel({ dir, dtype: 'q4', check: false })) events.push(e);
  const written = events.flatMap((e) => (e.type === 'written' ? [e.file] : []));
  assert.deepEqual(written, [
    'onnx/decoder_model_merged_q4.onnx',
    'onnx/decoder_model_q4.onnx',
    'onnx/decoder_with_past_model_q4.onnx',
    'onnx/encoder_model_q4.onnx',
  ]);
  const layout = inspectModelFolder(dir).layouts.q4;
  assert.equal(layout?.kind, 'encoder-decoder');
});
