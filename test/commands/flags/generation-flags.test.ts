// Tests for the generation flags: argv is parsed with node:util parseArgs using the exported specs
// (as cli/main.ts does), then turned into a settings layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import {
  GENERATION_FLAGS,
  settingsLayerFromFlags,
  unescapeStop,
} from '../../../commands/flags/generation-flags.js';
import { UsageError } from '../../../generation/errors.js';
import {
  applyLengthLimits,
  DEFAULT_SETTINGS,
  resolveSettings,
} from '../../../generation/settings.js';

function layer(args: string[]) {
  // parseArgs rejects explicit undefined fields, so only present ones are copied (as cli/main.ts does).
  const options = Object.fromEntries(
    Object.entries(GENERATION_FLAGS).map(([k, s]) => [
      k,
      {
        type: s.type,
        ...(s.short ? { short: s.short } : {}),
        ...(s.multiple ? { multiple: true } : {}),
      },
    ]),
  );
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: true });
  return settingsLayerFromFlags(values as Parameters<typeof settingsLayerFromFlags>[0]);
}

test('no flags give an empty layer, so lower layers keep their values', () => {
  assert.deepEqual(layer([]), {});
});

test('each flag sets its setting', () => {
  const cases: Array<[string[], object]> = [
    [['-n', '32'], { max_new_tokens: 32 }],
    [['--max-new-tokens', '0'], { max_new_tokens: 0 }],
    [['--min-new-tokens', '4'], { min_new_tokens: 4 }],
    [['--temperature', '0'], { temperature: 0 }],
    [['--temperature', '.7'], { temperature: 0.7, do_sample: true }],
    [['--top-k', '40'], { top_k: 40 }],
    [['--top-p', '1'], { top_p: 1 }],
    [['--top-p', '0.9'], { top_p: 0.9 }],
    [['--min-p', '0'], { min_p: 0 }],
    [['--typical-p', '0.95'], { typical_p: 0.95 }],
    [['--repetition-penalty', '1.1'], { repetition_penalty: 1.1 }],
    [['--presence-penalty=-0.5'], { presence_penalty: -0.5 }],
    [['--frequency-penalty', '1e-1'], { frequency_penalty: 0.1 }],
    [['--no-repeat-ngram-size', '3'], { no_repeat_ngram_size: 3 }],
    [['--num-beams', '4'], { num_beams: 4 }],
    [['--length-penalty=-1'], { length_penalty: -1 }],
    [['--num-return-sequences', '2'], { num_return_sequences: 2 }],
    [['--seed', '9007199254740991'], { seed: 2 ** 53 - 1 }],
    [['--suppress-tokens', '1, 2', '--suppress-tokens', '7'], { suppress_tokens: [1, 2, 7] }],
    [['--bad-words-ids', '1,2', '--bad-words-ids', '3'], { bad_words_ids: [[1, 2], [3]] }],
    [
      ['--logit-bias', '1:2', '--logit-bias', '3:-1.5,4:0'],
      { logit_bias: { 1: 2, 3: -1.5, 4: 0 } },
    ],
    [['--stop', 'a', '--stop', '\\n\\n', '--stop', 'x\\ty\\\\'], { stop: ['a', '\n\n', 'x\ty\\'] }],
    [['--do-sample'], { do_sample: true }],
    [['--greedy'], { do_sample: false }],
    [['--early-stopping'], { early_stopping: true }],
    [['--top-k', '5', '--top-k', '7'], { top_k: 7 }],
    [['--max-length', '30'], { max_length: 30 }],
    [['--min-length', '12'], { min_length: 12 }],
  ];
  for (const [args, want] of cases) assert.deepEqual(layer(args), want, args.join(' '));
});

test('bad values fail with a one-line UsageError naming the flag', () => {
  const cases: Array<[string[], string]> = [
    [['--top-p', 'abc'], "--top-p must be a number in (0, 1], got 'abc'"],
    [['--top-p', '0'], "--top-p must be a number in (0, 1], got '0'"],
    [['--top-p', '1.5'], "--top-p must be a number in (0, 1], got '1.5'"],
    [['--min-p', '2'], "--min-p must be a number in [0, 1], got '2'"],
    [['--typical-p', ''], "--typical-p must be a number in (0, 1], got ''"],
    [['--temperature=-1'], "--temperature must be a number >= 0, got '-1'"],
    [['--temperature', 'Infinity'], "--temperature must be a number >= 0, got 'Infinity'"],
    [['--repetition-penalty', '0'], "--repetition-penalty must be a number > 0, got '0'"],
    [['--presence-penalty', 'x'], "--presence-penalty must be a number, got 'x'"],
    [['--top-k', '1.5'], "--top-k must be an integer in 0..16777216, got '1.5'"],
    [['--top-k=-1'], "--top-k must be an integer in 0..16777216, got '-1'"],
    [['-n', '0x10'], "--max-new-tokens must be an integer in 0..16777216, got '0x10'"],
    [
      ['-n', '99999999999'],
      "--max-new-tokens must be an integer in 0..16777216, got '99999999999'",
    ],
    [['--num-beams', '0'], "--num-beams must be an integer in 1..256, got '0'"],
    [['--num-beams', '1000000000'], "--num-beams must be an integer in 1..256, got '1000000000'"],
    [
      ['--num-return-sequences', '1000000000'],
      "--num-return-sequences must be an integer in 1..256, got '1000000000'",
    ],
    [['--max-length=-3'], "--max-length must be an integer in 0..16777216, got '-3'"],
    [['--seed', '1e3'], "--seed must be a non-negative integer, got '1e3'"],
    [
      ['--seed', '9007199254740992'],
      "--seed must be a non-negative integer, got '9007199254740992'",
    ],
    [
      ['--suppress-tokens', '1,a'],
      "--suppress-tokens must be a comma-separated list of token ids, got '1,a'",
    ],
    [
      ['--bad-words-ids', ','],
      "--bad-words-ids must be a comma-separated list of token ids, got ','",
    ],
    [
      ['--logit-bias', '5'],
      "--logit-bias must be ID:BIAS (a token id, a colon and a number, e.g. '50256:-100'), got '5'",
    ],
    [
      ['--logit-bias', '5:abc'],
      "--logit-bias must be ID:BIAS (a token id, a colon and a number, e.g. '50256:-100'), got '5:abc'",
    ],
    [['--stop', ''], '--stop must not be empty'],
    [['--do-sample', '--greedy'], '--do-sample and --greedy cannot be used together'],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => layer(args),
      (e: unknown) => e instanceof UsageError && e.message === message && !e.message.includes('\n'),
      args.join(' '),
    );
  }
});

test('unescapeStop turns \\n, \\t, \\r, \\\\ into characters and leaves other text alone', () => {
  assert.equal(unescapeStop('a\\nb\\r\\t\\\\n\\x'), 'a\nb\r\t\\n\\x');
});

test('max_length/min_length follow Hugging Face: the later layer decides, max_new_tokens wins in one layer', () => {
  const model = { max_length: 512, min_length: 10 };
  // The model's max_length beats the built-in max_new_tokens default (a lower layer).
  const fromModel = resolveSettings(model);
  assert.equal(fromModel.max_length, 512);
  assert.deepEqual(
    [
      applyLengthLimits(fromModel, 12).max_new_tokens,
      applyLengthLimits(fromModel, 12).min_new_tokens,
    ],
    [500, 0],
  );
  // A flag's max_new_tokens beats the model's max_length.
  const flagged = resolveSettings(model, layer(['-n', '20']));
  assert.equal(flagged.max_length, undefined);
  assert.equal(applyLengthLimits(flagged, 12).max_new_tokens, 20);
  // Both in one layer: max_new_tokens wins; a later max_length beats an earlier max_new_tokens.
  assert.equal(resolveSettings({ max_length: 30, max_new_tokens: 5 }).max_length, undefined);
  const later = resolveSettings({ max_new_tokens: 5 }, layer(['--max-length', '30']));
  assert.equal(applyLengthLimits(later, 8).max_new_tokens, 22);
  assert.equal(applyLengthLimits(later, 40).max_new_tokens, 0);
  const min = resolveSettings(layer(['--min-length', '15']));
  assert.equal(applyLengthLimits(min, 4).min_new_tokens, 11);
  assert.equal(applyLengthLimits(resolveSettings(min, { min_new_tokens: 2 }), 4).min_new_tokens, 2);
});

test('a full flag layer resolves into valid settings', () => {
  const s = resolveSettings(
    DEFAULT_SETTINGS,
    layer([
      '-n',
      '8',
      '--temperature',
      '0',
      '--num-beams',
      '2',
      '--num-return-sequences',
      '2',
      '--stop',
      '.',
    ]),
  );
  assert.deepEqual(
    [s.max_new_tokens, s.do_sample, s.num_beams, s.num_return_sequences, s.stop],
    [8, false, 2, 2, ['.']],
  );
});

test('every flag has a one-line description and kebab-case name', () => {
  for (const [name, spec] of Object.entries(GENERATION_FLAGS)) {
    assert.match(name, /^[a-z]+(-[a-z]+)*$/);
    assert.ok(spec.description.length > 0 && !spec.description.includes('\n'), name);
  }
});
