import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  availableDtypes,
  chooseDtype,
  configFilesOf,
  externalDataOf,
  genaiWeightFiles,
  weightFilesFor,
} from '../../models-cache/select-files.js';

// A transformers.js-style repo (onnx-community layout) with external data and a stray root model.
const tjs = [
  'README.md',
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'onnx/model.onnx',
  'onnx/model.onnx_data',
  'onnx/model.onnx_data_1',
  'onnx/model_fp16.onnx',
  'onnx/model_fp16.onnx_data',
  'onnx/model_quantized.onnx',
  'onnx/model_q4.onnx',
  'onnx/model_q4.onnx_data',
  'onnx/model_q4f16.onnx',
  'model.onnx',
  'pytorch_model.bin',
  'model.safetensors',
];
// An optimum export of a causal LM (merged decoder) and of an encoder-decoder model.
const optimum = [
  'config.json',
  'tokenizer.json',
  'decoder_model.onnx',
  'decoder_with_past_model.onnx',
  'decoder_model_merged.onnx',
  'decoder_model_merged_quantized.onnx',
];
const t5 = [
  'config.json',
  'tokenizer.json',
  'onnx/encoder_model.onnx',
  'onnx/decoder_model.onnx',
  'onnx/decoder_with_past_model.onnx',
  'onnx/decoder_model_merged.onnx',
  'onnx/encoder_model_int8.onnx',
  'onnx/decoder_model_int8.onnx',
];

test('weights for each dtype: the layout files (onnx/ first) plus their own external data only', () => {
  const cases: Array<[string[], Parameters<typeof weightFilesFor>[1], boolean, string[]]> = [
    [tjs, 'fp32', false, ['onnx/model.onnx', 'onnx/model.onnx_data', 'onnx/model.onnx_data_1']],
    [tjs, 'fp16', false, ['onnx/model_fp16.onnx', 'onnx/model_fp16.onnx_data']],
    [tjs, 'q8', false, ['onnx/model_quantized.onnx']],
    [tjs, 'q4', false, ['onnx/model_q4.onnx', 'onnx/model_q4.onnx_data']],
    [tjs, 'q4f16', false, ['onnx/model_q4f16.onnx']],
    [tjs, 'int8', false, []],
    [optimum, 'fp32', false, ['decoder_model_merged.onnx']],
    [optimum, 'q8', false, ['decoder_model_merged_quantized.onnx']],
    [
      ['decoder_model.onnx', 'decoder_with_past_model.onnx'],
      'fp32',
      false,
      ['decoder_model.onnx', 'decoder_with_past_model.onnx'],
    ],
    [t5, 'fp32', true, ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']],
    [t5, 'int8', true, ['onnx/encoder_model_int8.onnx', 'onnx/decoder_model_int8.onnx']],
  ];
  for (const [files, dtype, encDec, expected] of cases)
    assert.deepEqual(
      weightFilesFor(files, dtype, encDec),
      expected,
      `${dtype} of ${files[files.length - 1]}`,
    );
});

test('available dtypes and the automatic choice follow model-folder.ts', () => {
  assert.deepEqual(availableDtypes(tjs, false), ['fp32', 'fp16', 'q8', 'q4', 'q4f16']);
  const cases: Array<[string[], boolean, string | undefined, string]> = [
    [tjs, false, undefined, 'fp32'],
    [tjs, false, 'auto', 'fp32'],
    [tjs, false, 'q4', 'q4'],
    [['onnx/model_fp16.onnx', 'onnx/model_q4.onnx'], false, undefined, 'q4'],
    [['onnx/model_fp16.onnx', 'onnx/model_q4f16.onnx'], false, undefined, 'fp16'],
    [t5, true, undefined, 'fp32'],
  ];
  for (const [files, encDec, requested, expected] of cases)
    assert.equal(chooseDtype('org/x', files, encDec, requested), expected);
  assert.throws(
    () => chooseDtype('org/x', tjs, false, 'int8'),
    /no int8 weights \(available: fp32, fp16, q8, q4, q4f16\)/,
  );
  assert.throws(() => chooseDtype('org/x', tjs, false, 'fp64'), /Unknown dtype/);
  assert.throws(
    () => chooseDtype('org/x', ['config.json', 'model.safetensors'], false),
    /no ONNX weights/,
  );
});

test('config files, external data and genai folders', () => {
  assert.deepEqual(configFilesOf(tjs), [
    'config.json',
    'generation_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'special_tokens_map.json',
    'chat_template.jinja',
  ]);
  assert.deepEqual(
    externalDataOf(
      ['a/model.onnx.data', 'a/model.onnx_data_12', 'a/model.onnx_datax', 'b/model.onnx_data'],
      'a/model.onnx',
    ),
    ['a/model.onnx.data', 'a/model.onnx_data_12'],
  );
  const genai = ['genai_config.json', 'model.onnx', 'model.onnx.data', 'tokenizer.json'];
  assert.deepEqual(genaiWeightFiles(genai, { model: { decoder: { filename: 'model.onnx' } } }), [
    'model.onnx',
    'model.onnx.data',
  ]);
  assert.throws(
    () => genaiWeightFiles(genai, { model: { decoder: { filename: 'other.onnx' } } }),
    /names other\.onnx/,
  );
});
