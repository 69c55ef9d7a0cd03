// Model folder inspection on real fixtures: every file layout and dtype suffix textgen recognises, built
// as temp folders of symlinks to the shared fixtures, plus the errors for folders it cannot use.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelError, TextgenError } from '../../../generation/errors.js';
import { loadModel } from '../../../generation/index.js';
import {
  DTYPE_SUFFIXES,
  inspectModelFolder,
  selectDtype,
  type Dtype,
} from '../../../generation/model/model-folder.js';
import { fixture, generateAll, linkFolder, type TempFolder } from '../fixtures.js';
import { storiesGolden } from '../goldens.js';
// Every test here builds its folders from the fixtures: skipped, with the reason, without them.
import { sharedTest as test } from '../../shared-fixtures.js';

const STORIES = fixture('stories260K-onnx');
const STORIES_ONNX = join(STORIES, 'onnx', 'model.onnx');
const T5 = fixture('tiny-random-t5');

/** stories260K's config and tokenizer files plus the given ONNX entries (path → file to link). */
function storiesFolder(
  onnx: Record<string, string | { text: string }>,
  skip: string[] = [],
): TempFolder {
  const files = [
    'config.json',
    'generation_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'special_tokens_map.json',
  ];
  const entries: Record<string, string | { text: string }> = {};
  for (const f of files) if (!skip.includes(f)) entries[f] = join(STORIES, f);
  return linkFolder({ ...entries, ...onnx });
}

/** tiny-random-t5's config and tokenizer files plus the named ONNX files of its onnx/ folder. */
function t5Folder(onnxNames: string[]): TempFolder {
  const entries: Record<string, string> = {};
  for (const f of [
    'config.json',
    'generation_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'special_tokens_map.json',
  ])
    entries[f] = join(T5, f);
  for (const n of onnxNames) entries[`onnx/${n}`] = join(T5, 'onnx', n);
  return linkFolder(entries);
}

/** Runs `fn` on a temp folder and removes the folder afterwards. */
function withFolder<T>(folder: TempFolder, fn: (dir: string) => T): T {
  try {
    return fn(folder.dir);
  } finally {
    folder.cleanup();
  }
}

/** The ModelError thrown by `fn` (fails when it throws nothing or something else). */
function textgenErrorOf(fn: () => unknown): TextgenError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TextgenError, `expected a TextgenError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a TextgenError');
}

function modelErrorOf(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ModelError, `expected a ModelError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ModelError');
}

test('optimum layout: onnx/model.onnx is the fp32 decoder; config facts are read', () => {
  const folder = inspectModelFolder(STORIES);
  assert.deepEqual(folder.dtypes, ['fp32']);
  assert.deepEqual(folder.layouts.fp32, { kind: 'decoder', model: STORIES_ONNX });
  assert.equal(folder.task, 'text-generation');
  assert.equal(folder.modelType, 'llama');
  assert.equal(folder.architecture, 'LlamaForCausalLM');
  assert.equal(folder.contextLength, 512);
  assert.equal(folder.vocabSize, 512);
  assert.equal(folder.hasChatTemplate, false);
  assert.deepEqual(folder.generationConfig?.eos_token_id, [1, 2]);
});

test('dtype suffixes: each transformers.js suffix maps to its dtype, listed in DTYPE_SUFFIXES order', () => {
  const onnx: Record<string, string> = {};
  for (const suffix of Object.values(DTYPE_SUFFIXES))
    onnx[`onnx/model${suffix}.onnx`] = STORIES_ONNX;
  withFolder(storiesFolder(onnx), (dir) => {
    const folder = inspectModelFolder(dir);
    assert.deepEqual(folder.dtypes, ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4']);
    for (const [dtype, suffix] of Object.entries(DTYPE_SUFFIXES)) {
      assert.deepEqual(
        folder.layouts[dtype as Dtype],
        { kind: 'decoder', model: join(dir, 'onnx', `model${suffix}.onnx`) },
        dtype,
      );
    }
    assert.equal(selectDtype(folder, undefined, 'cpu'), 'fp32');
    assert.equal(selectDtype(folder, 'auto', 'cuda'), 'fp16');
  });
});

const AUTO_CASES: Array<{ files: string[]; cpu: Dtype; cuda: Dtype }> = [
  { files: ['model_fp16', 'model_q4'], cpu: 'q4', cuda: 'fp16' },
  { files: ['model_quantized', 'model_fp16'], cpu: 'q8', cuda: 'fp16' },
  { files: ['model_int8', 'model_uint8'], cpu: 'int8', cuda: 'int8' },
  { files: ['model_uint8', 'model_q4f16'], cpu: 'uint8', cuda: 'q4f16' },
  { files: ['model_bnb4', 'model_fp16'], cpu: 'bnb4', cuda: 'fp16' },
  { files: ['model_q4f16'], cpu: 'q4f16', cuda: 'q4f16' },
  { files: ['model_q4', 'model_bnb4'], cpu: 'q4', cuda: 'q4' },
  { files: ['model', 'model_q4f16', 'model_fp16'], cpu: 'fp32', cuda: 'fp16' },
];

for (const c of AUTO_CASES) {
  test(`selectDtype auto with ${c.files.join(' + ')}: cpu ${c.cpu}, cuda ${c.cuda}`, () => {
    const onnx = Object.fromEntries(c.files.map((f) => [`onnx/${f}.onnx`, STORIES_ONNX]));
    withFolder(storiesFolder(onnx), (dir) => {
      const folder = inspectModelFolder(dir);
      assert.equal(folder.dtypes.length, c.files.length);
      assert.equal(selectDtype(folder, undefined, 'cpu'), c.cpu);
      assert.equal(selectDtype(folder, 'auto', 'cuda'), c.cuda);
    });
  });
}

test('explicit dtype: a present variant is used; a missing one names the available ones; an unknown one is rejected', () => {
  withFolder(
    storiesFolder({ 'onnx/model.onnx': STORIES_ONNX, 'onnx/model_q4.onnx': STORIES_ONNX }),
    (dir) => {
      const folder = inspectModelFolder(dir);
      assert.equal(selectDtype(folder, 'q4'), 'q4');
      assert.equal(selectDtype(folder, 'fp32'), 'fp32');
      // A variant that does not exist is "not found" (exit 4, as the README's table says).
      const missing = textgenErrorOf(() => selectDtype(folder, 'fp16'));
      assert.match(missing.message, /no fp16 weights \(available: fp32, q4\)/);
      assert.match(missing.hint ?? '', /--dtype fp32/);
      assert.equal(missing.exitCode, 4);
      // An unknown dtype name is a usage error (exit 2).
      const unknown = textgenErrorOf(() => selectDtype(folder, 'fp8'));
      assert.equal(unknown.exitCode, 2);
      assert.match(unknown.message, /Unknown dtype 'fp8'/);
      assert.match(unknown.hint ?? '', /auto, fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4/);
    },
  );
});

test('a suffixed variant really loads: model_q4.onnx (the fp32 graph under that name) gives the golden ids', async () => {
  const folder = storiesFolder({ 'onnx/model_q4.onnx': STORIES_ONNX });
  try {
    const generator = await loadModel(folder.dir, { inProcess: true, dtype: 'q4' });
    try {
      assert.equal(generator.info.dtype, 'q4');
      assert.deepEqual(generator.info.onnxFiles, [join(folder.dir, 'onnx', 'model_q4.onnx')]);
      const golden = storiesGolden().prompt_once_upon_a_time_greedy_60;
      const { done } = await generateAll(generator, golden.prompt, { max_new_tokens: 20 });
      assert.deepEqual(done.sequences[0].token_ids, golden.generated_ids.slice(0, 20));
    } finally {
      await generator.dispose();
    }
  } finally {
    folder.cleanup();
  }
});

test('model.onnx at the folder root is found; onnx/ wins when both exist', () => {
  withFolder(storiesFolder({ 'model.onnx': STORIES_ONNX }), (dir) => {
    assert.deepEqual(inspectModelFolder(dir).layouts.fp32, {
      kind: 'decoder',
      model: join(dir, 'model.onnx'),
    });
  });
  withFolder(
    storiesFolder({ 'model.onnx': STORIES_ONNX, 'onnx/model.onnx': STORIES_ONNX }),
    (dir) => {
      assert.deepEqual(inspectModelFolder(dir).layouts.fp32, {
        kind: 'decoder',
        model: join(dir, 'onnx', 'model.onnx'),
      });
    },
  );
});

test('decoder_model_merged.onnx is a merged decoder and runs (the runner feeds use_cache_branch only when present)', async () => {
  const folder = storiesFolder({ 'onnx/decoder_model_merged.onnx': STORIES_ONNX });
  try {
    assert.deepEqual(inspectModelFolder(folder.dir).layouts.fp32, {
      kind: 'decoder-merged',
      model: join(folder.dir, 'onnx', 'decoder_model_merged.onnx'),
    });
    const generator = await loadModel(folder.dir, { inProcess: true });
    try {
      const golden = storiesGolden().prompt_once_upon_a_time_greedy_60;
      const { done } = await generateAll(generator, golden.prompt, { max_new_tokens: 10 });
      assert.deepEqual(done.sequences[0].token_ids, golden.generated_ids.slice(0, 10));
    } finally {
      await generator.dispose();
    }
  } finally {
    folder.cleanup();
  }
});

test('decoder_model + decoder_with_past_model is the split layout; decoder_model alone is a plain decoder', () => {
  withFolder(
    storiesFolder({
      'onnx/decoder_model.onnx': STORIES_ONNX,
      'onnx/decoder_with_past_model.onnx': STORIES_ONNX,
    }),
    (dir) => {
      assert.deepEqual(inspectModelFolder(dir).layouts.fp32, {
        kind: 'decoder-split',
        decoder: join(dir, 'onnx', 'decoder_model.onnx'),
        decoderWithPast: join(dir, 'onnx', 'decoder_with_past_model.onnx'),
      });
    },
  );
  withFolder(storiesFolder({ 'onnx/decoder_model.onnx': STORIES_ONNX }), (dir) => {
    assert.deepEqual(inspectModelFolder(dir).layouts.fp32, {
      kind: 'decoder',
      model: join(dir, 'onnx', 'decoder_model.onnx'),
    });
  });
  withFolder(
    storiesFolder({
      'onnx/decoder_model_fp16.onnx': STORIES_ONNX,
      'onnx/decoder_with_past_model_fp16.onnx': STORIES_ONNX,
    }),
    (dir) => {
      const folder = inspectModelFolder(dir);
      assert.deepEqual(folder.dtypes, ['fp16']);
      assert.equal(folder.layouts.fp16?.kind, 'decoder-split');
    },
  );
});

test('external data next to the graph (model.onnx_data) is not mistaken for a model file', () => {
  withFolder(
    storiesFolder({ 'onnx/model.onnx': STORIES_ONNX, 'onnx/model.onnx_data': { text: 'weights' } }),
    (dir) => {
      const folder = inspectModelFolder(dir);
      assert.deepEqual(folder.dtypes, ['fp32']);
      assert.deepEqual(folder.layouts.fp32, {
        kind: 'decoder',
        model: join(dir, 'onnx', 'model.onnx'),
      });
    },
  );
});

test('genai folder with external data (model.onnx.data) loads and generates; without the .data file loading fails with a ModelError', async () => {
  const dir = fixture('ort-genai-tiny-random-llama-fp16');
  const folder = inspectModelFolder(dir);
  assert.deepEqual(folder.layouts[folder.dtypes[0]], {
    kind: 'genai',
    model: join(dir, 'model.onnx'),
  });
  assert.equal(folder.dtypes.length, 1);
  assert.equal(folder.modelType, 'llama');
  assert.equal(folder.contextLength, 2048);
  assert.equal(folder.vocabSize, 32000);
  const generator = await loadModel(dir, { inProcess: true });
  try {
    // genai_config.json names no precision; the fp16 cache tensors tell.
    assert.equal(generator.info.dtype, 'fp16');
    const { done } = await generateAll(generator, 'Hello world', { max_new_tokens: 4 });
    assert.equal(done.sequences[0].token_ids.length, 4);
  } finally {
    await generator.dispose();
  }
  const names = [
    'genai_config.json',
    'special_tokens_map.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'model.onnx',
  ];
  const broken = linkFolder(Object.fromEntries(names.map((n) => [n, join(dir, n)])));
  try {
    await assert.rejects(loadModel(broken.dir, { inProcess: true }), (error: unknown) => {
      assert.ok(error instanceof ModelError, String(error));
      assert.match(error.message, /Could not load .*model\.onnx/);
      assert.match(error.hint ?? '', /external/);
      return true;
    });
  } finally {
    broken.cleanup();
  }
});

test('genai GPT-2 folder: past.onnx named by genai_config.json, facts from config.json', () => {
  const dir = fixture('ort-genai-tiny-random-gpt2-fp32');
  const folder = inspectModelFolder(dir);
  assert.deepEqual(folder.dtypes, ['fp32']);
  assert.deepEqual(folder.layouts.fp32, { kind: 'genai', model: join(dir, 'past.onnx') });
  assert.equal(folder.modelType, 'gpt2');
  assert.equal(folder.task, 'text-generation');
  assert.equal(folder.contextLength, 512);
  assert.equal(folder.vocabSize, 1000);
});

test('genai_config.json naming a missing file is a ModelError', () => {
  const dir = fixture('ort-genai-tiny-random-gpt2-fp32');
  const names = ['genai_config.json', 'config.json', 'tokenizer.json', 'tokenizer_config.json'];
  withFolder(linkFolder(Object.fromEntries(names.map((n) => [n, join(dir, n)]))), (tmp) => {
    const error = modelErrorOf(() => inspectModelFolder(tmp));
    assert.match(error.message, /genai_config\.json names .*past\.onnx, which is missing/);
  });
});

test('encoder-decoder: the full tiny-random-t5 folder has the merged decoder and the split pair', () => {
  const folder = inspectModelFolder(T5);
  assert.equal(folder.task, 'text2text-generation');
  assert.equal(folder.modelType, 't5');
  assert.deepEqual(folder.dtypes, ['fp32']);
  const onnx = (n: string) => join(T5, 'onnx', n);
  assert.deepEqual(folder.layouts.fp32, {
    kind: 'encoder-decoder',
    encoder: onnx('encoder_model.onnx'),
    decoderMerged: onnx('decoder_model_merged.onnx'),
    decoder: onnx('decoder_model.onnx'),
    decoderWithPast: onnx('decoder_with_past_model.onnx'),
  });
});

test('encoder-decoder variants: merged only, split pair only, and incomplete sets', () => {
  withFolder(t5Folder(['encoder_model.onnx', 'decoder_model_merged.onnx']), (dir) => {
    assert.deepEqual(inspectModelFolder(dir).layouts.fp32, {
      kind: 'encoder-decoder',
      encoder: join(dir, 'onnx', 'encoder_model.onnx'),
      decoderMerged: join(dir, 'onnx', 'decoder_model_merged.onnx'),
      decoder: undefined,
      decoderWithPast: undefined,
    });
  });
  withFolder(
    t5Folder(['encoder_model.onnx', 'decoder_model.onnx', 'decoder_with_past_model.onnx']),
    (dir) => {
      assert.deepEqual(inspectModelFolder(dir).layouts.fp32, {
        kind: 'encoder-decoder',
        encoder: join(dir, 'onnx', 'encoder_model.onnx'),
        decoderMerged: undefined,
        decoder: join(dir, 'onnx', 'decoder_model.onnx'),
        decoderWithPast: join(dir, 'onnx', 'decoder_with_past_model.onnx'),
      });
    },
  );
  for (const incomplete of [
    ['encoder_model.onnx', 'decoder_model.onnx'],
    ['decoder_model_merged.onnx'],
    ['encoder_model.onnx'],
  ]) {
    withFolder(t5Folder(incomplete), (dir) => {
      const error = modelErrorOf(() => inspectModelFolder(dir));
      const found = /found: ([^)]*)\)/.exec(error.message)?.[1].split(', ').sort();
      assert.deepEqual(found, [...incomplete].sort());
      assert.match(error.hint ?? '', /encoder_model\.onnx and onnx\/decoder_model_merged\.onnx/);
    });
  }
});

test('a folder without a usable ONNX file names what it found', () => {
  withFolder(storiesFolder({ 'onnx/weights.bin': { text: 'x' } }), (dir) => {
    const error = modelErrorOf(() => inspectModelFolder(dir));
    assert.match(error.message, /No supported ONNX layout in .*\(found: no \.onnx files\)/);
    assert.match(error.hint ?? '', /onnx\/model/);
    assert.equal(error.exitCode, 3);
  });
  withFolder(
    storiesFolder({ 'onnx/encoder.onnx': STORIES_ONNX, 'onnx/lm_head.onnx': STORIES_ONNX }),
    (dir) => {
      const found = /found: ([^)]*)\)/
        .exec(modelErrorOf(() => inspectModelFolder(dir)).message)?.[1]
        .split(', ')
        .sort();
      assert.deepEqual(found, ['encoder.onnx', 'lm_head.onnx']);
    },
  );
});

test('missing folder, tokenizer.json or config.json, and a corrupt config.json are ModelErrors naming the file', () => {
  assert.match(
    modelErrorOf(() => inspectModelFolder(join(STORIES, 'no-such-folder'))).message,
    /Model folder not found/,
  );
  withFolder(storiesFolder({ 'onnx/model.onnx': STORIES_ONNX }, ['tokenizer.json']), (dir) => {
    assert.match(
      modelErrorOf(() => inspectModelFolder(dir)).message,
      new RegExp(`Missing ${join(dir, 'tokenizer.json')}`),
    );
  });
  withFolder(storiesFolder({ 'onnx/model.onnx': STORIES_ONNX }, ['config.json']), (dir) => {
    const error = modelErrorOf(() => inspectModelFolder(dir));
    assert.match(error.message, new RegExp(`Missing ${join(dir, 'config.json')}`));
    assert.match(error.hint ?? '', /config\.json, tokenizer\.json and an ONNX file/);
  });
  withFolder(
    storiesFolder(
      { 'onnx/model.onnx': STORIES_ONNX, 'config.json': { text: '{"model_type": "llama",' } },
      ['config.json'],
    ),
    (dir) => {
      const error = modelErrorOf(() => inspectModelFolder(dir));
      assert.match(error.message, /config\.json is not valid JSON/);
    },
  );
  withFolder(
    storiesFolder({ 'onnx/model.onnx': STORIES_ONNX, 'config.json': { text: '"llama"' } }, [
      'config.json',
    ]),
    (dir) => {
      assert.match(
        modelErrorOf(() => inspectModelFolder(dir)).message,
        /config\.json is not valid JSON \(not a JSON object\)/,
      );
    },
  );
});
