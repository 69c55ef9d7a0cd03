// Issue 18.3, errors that help with --model: an ONNX file loads its folder (and that file's weights
// variant), a file that is not a layout file says so precisely, GGUF files and safetensors-only
// folders say what they are and what to run, and a missing --dtype variant exits 4 (not found).
import { after, before, test } from 'node:test';
import { sharedTest } from '../shared-fixtures.js';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  assertOneLineError,
  fixture,
  sandbox,
  textgen,
  type Sandbox,
} from './harness.js';
import { modelShell } from '../generation/fixtures.js';

const STORIES = fixture('stories260K-onnx');
const HF = fixture('stories260K-hf');
let box: Sandbox;

before(() => {
  assertBuilt();
  box = sandbox();
});
after(() => box.cleanup());

/** stories260K-onnx with its ONNX file under `onnxName` (links, nothing copied). */
function storiesAs(name: string, onnxName: string): string {
  const dir = join(box.root, name);
  modelShell(STORIES, dir);
  symlinkSync(join(STORIES, 'onnx', 'model.onnx'), join(dir, 'onnx', onnxName));
  return dir;
}

const greedy = ['-n', '8', '--temperature', '0', 'Once upon a time'];

sharedTest(
  '-m path/onnx/model.onnx loads that folder, with the same text as -m folder',
  async () => {
    const byFolder = await textgen(['generate', '-m', STORIES, ...greedy], box.env);
    assert.equal(byFolder.exitCode, 0, String(byFolder.stderr));
    const byFile = await textgen(
      ['generate', '-m', join(STORIES, 'onnx', 'model.onnx'), ...greedy],
      box.env,
    );
    assert.equal(byFile.exitCode, 0, String(byFile.stderr));
    assert.equal(String(byFile.stdout), String(byFolder.stdout));
    const byConfig = await textgen(
      ['generate', '-m', join(STORIES, 'config.json'), ...greedy],
      box.env,
    );
    assert.equal(String(byConfig.stdout), String(byFolder.stdout));
  },
);

sharedTest('-m onnx/model_q4.onnx picks that variant of a folder that has two', async () => {
  // model.onnx is stories260K; model_q4.onnx is a different graph (gpt2, 128 positions), so which
  // file was loaded shows in the result.
  const dir = storiesAs('two-variants', 'model.onnx');
  symlinkSync(
    fixture('tiny-random-gpt2', 'onnx', 'model.onnx'),
    join(dir, 'onnx', 'model_q4.onnx'),
  );
  const byFolder = await textgen(['generate', '-m', dir, ...greedy], box.env);
  assert.equal(byFolder.exitCode, 0, String(byFolder.stderr));
  const byFile = await textgen(
    ['generate', '-m', join(dir, 'onnx', 'model_q4.onnx'), ...greedy],
    box.env,
  );
  assertOneLineError(byFile, 3, /onnx\/model_q4\.onnx has positions for 128 tokens only/);
  const explicit = await textgen(
    ['generate', '-m', join(dir, 'onnx', 'model_q4.onnx'), '--dtype', 'fp32', ...greedy],
    box.env,
  );
  assert.equal(String(explicit.stdout), String(byFolder.stdout), 'an explicit --dtype wins');
});

sharedTest('-m a .onnx file that is not a layout file says so precisely (exit 3)', async () => {
  const dir = storiesAs('odd-name', 'my_export.onnx');
  const result = await textgen(
    ['generate', '-m', join(dir, 'onnx', 'my_export.onnx'), 'Hi'],
    box.env,
  );
  assertOneLineError(
    result,
    3,
    /my_export\.onnx is not a file of textgen's model layouts .*so its folder .*odd-name would not load it/,
  );
});

test('-m a .onnx file that does not exist names the missing file, not a folder (exit 4)', async () => {
  const result = await textgen(
    ['generate', '-m', join(box.root, 'gone', 'onnx', 'model.onnx'), 'Hi'],
    box.env,
  );
  assertOneLineError(result, 4, /Model file not found: .*gone\/onnx\/model\.onnx\./);
});

test('-m a .gguf file or a folder of GGUF files: says GGUF and what to run (exit 3)', async () => {
  const dir = join(box.root, 'gguf');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model-Q4_K_M.gguf'), Buffer.from('GGUF\x03\x00\x00\x00'));
  for (const target of [join(dir, 'model-Q4_K_M.gguf'), dir]) {
    for (const command of [
      ['generate', '-m', target, 'Hi'],
      ['chat', '-m', target],
    ]) {
      const result = await textgen(command, box.env, { input: 'Hi\n' });
      assertOneLineError(result, 3, /GGUF .*llama\.cpp's format/);
      assert.match(String(result.stderr), /textgen convert/);
    }
  }
});

sharedTest(
  'a safetensors-only folder (a Hugging Face checkpoint) names `textgen convert`',
  async () => {
    for (const command of [
      ['generate', '-m', HF, 'Hi'],
      ['perplexity', '-m', HF, '-'],
      ['models', 'show', HF],
    ]) {
      const result = await textgen(command, box.env, { input: 'Hello there.\n' });
      assertOneLineError(
        result,
        3,
        /is a Hugging Face checkpoint with no ONNX weights \(model\.safetensors\)/,
      );
      assert.match(
        String(result.stderr),
        new RegExp(`textgen convert ${HF.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
      );
    }
    const file = await textgen(['generate', '-m', join(HF, 'model.safetensors'), 'Hi'], box.env);
    assertOneLineError(
      file,
      3,
      /model\.safetensors is a Hugging Face checkpoint file, not an ONNX model/,
    );
  },
);

sharedTest(
  'a missing --dtype variant exits 4 (not found); an unknown dtype name exits 2',
  async () => {
    const missing = await textgen(['generate', '-m', STORIES, '--dtype', 'q4', 'Hi'], box.env);
    assertOneLineError(missing, 4, /has no q4 weights \(available: fp32\)/);
    const unknown = await textgen(['generate', '-m', STORIES, '--dtype', 'q5', 'Hi'], box.env);
    assertOneLineError(unknown, 2, /Unknown dtype 'q5'/);
  },
);
