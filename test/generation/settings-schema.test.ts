// The one settings schema: names in both spellings, the text and JSON parsers every source goes
// through, one-line errors naming the source and the key, caps; HTTP bodies through the one field
// table of generation/remote/openai-fields.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatSettingValue,
  parseNamedSetting,
  parseSettingText,
  settingKey,
  settingName,
  settingsFromJson,
  SETTING_SPECS,
} from '../../generation/settings-schema.js';
import { DEFAULT_SETTINGS } from '../../generation/settings.js';
import { UsageError } from '../../generation/errors.js';
import {
  DEFAULT_FIELD_LIMITS,
  FieldError,
  fieldsFromSettings,
  OPENAI_FIELDS,
  settingsFromFields,
} from '../../generation/remote/openai-fields.js';

function throwsUsage(fn: () => unknown, message: RegExp | string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UsageError, String(e));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.ok(!e.message.includes('\n'), "expected !e.message.includes('\\n')");
    return true;
  });
}

test('every setting has one entry; names are kebab for people, keys snake; both spellings resolve', () => {
  for (const key of Object.keys(DEFAULT_SETTINGS))
    assert.ok(
      SETTING_SPECS.some((s) => s.key === key),
      key,
    );
  for (const s of SETTING_SPECS) {
    assert.match(settingName(s.key), /^[a-z]+(-[a-z]+)*$/);
    assert.equal(settingKey(settingName(s.key)), s.key);
    assert.equal(settingKey(s.key), s.key);
    assert.ok(
      s.description.length > 0 && !s.description.includes('\n'),
      "expected s.description.length > 0 && !s.description.includes('\\n')",
    );
  }
  assert.equal(settingKey('warmth'), undefined);
});

test('text forms: numbers, lists in flag syntax and in JSON, with escapes', () => {
  const src = {};
  assert.equal(parseSettingText('top_p', [' 0.5 '], src), 0.5);
  assert.deepEqual(parseSettingText('suppress_tokens', ['1,2', '3'], src), [1, 2, 3]);
  assert.deepEqual(parseSettingText('suppress_tokens', ['[4,5]'], src), [4, 5]);
  assert.deepEqual(parseSettingText('bad_words_ids', ['5,6;7'], src), [[5, 6], [7]]);
  assert.deepEqual(parseSettingText('bad_words_ids', ['[[5,6],[7]]'], src), [[5, 6], [7]]);
  assert.deepEqual(parseSettingText('logit_bias', ['13:-5,42:2'], src), { 13: -5, 42: 2 });
  assert.deepEqual(parseSettingText('logit_bias', ['{"13": -5}'], src), { 13: -5 });
  assert.deepEqual(parseSettingText('stop', ['a\\nb', 'x'], src), ['a\nb', 'x']);
  assert.deepEqual(parseSettingText('stop', ['["a","b"]'], src), ['a', 'b']);
  assert.deepEqual(parseSettingText('stop', ['[not json'], src), ['[not json']);
  assert.deepEqual(parseNamedSetting('greedy', 'true', src), { key: 'do_sample', value: false });
  assert.deepEqual(parseNamedSetting('max-length', '40', src), { key: 'max_length', value: 40 });
});

test('values print back in the form the text parser takes', () => {
  const cases: Array<[keyof typeof DEFAULT_SETTINGS, unknown]> = [
    ['suppress_tokens', [1, 2]],
    ['bad_words_ids', [[5, 6], [7]]],
    ['logit_bias', { 13: -5, 42: 2 }],
    ['stop', ['\n\n', 'User:']],
    ['top_p', 0.9],
    ['suppress_tokens', []],
  ];
  for (const [key, value] of cases)
    assert.deepEqual(parseSettingText(key, [formatSettingValue(key, value)], {}), value, key);
});

test('errors name the source and the key the way that source spells it', () => {
  throwsUsage(
    () => parseSettingText('top_p', ['2'], { flags: true }),
    "--top-p must be a number in (0, 1], got '2'",
  );
  throwsUsage(
    () => parseSettingText('top_p', ['2'], {}),
    "top-p must be a number in (0, 1], got '2'",
  );
  throwsUsage(
    () => settingsFromJson({ stop: 'x', top_k: '5' }, { where: '--jsonl line 3' }),
    '--jsonl line 3: top-k must be an integer in 0..16777216, got "5"',
  );
  throwsUsage(
    () => settingsFromJson({ temprature: 0 }, { where: 'x' }),
    "x: unknown setting 'temprature'",
  );
  throwsUsage(
    () => settingsFromJson([1], { where: 'x' }),
    'x: settings must be a JSON object, got [1]',
  );
  throwsUsage(
    () => settingsFromJson({ stop: ['a', ''] }, {}),
    'stop must be a non-empty string or a list of them, got ["a",""]',
  );
  throwsUsage(
    () => settingsFromJson({ num_beams: 1e9 }, {}),
    'num-beams must be an integer in 1..256, got 1000000000',
  );
  throwsUsage(
    () => settingsFromJson({ seed: 2 ** 53 }, {}),
    /^seed must be a non-negative integer, got 9007199254740992$/,
  );
  throwsUsage(
    () => settingsFromJson({ suppress_tokens: [2 ** 31] }, {}),
    /suppress-tokens must be a list of token ids/,
  );
  throwsUsage(
    () => settingsFromJson({ logit_bias: { x: 1 } }, {}),
    /logit-bias must be an object of token id to bias/,
  );
  throwsUsage(
    () => settingsFromJson({ suppress_tokens: Array.from({ length: 70000 }, (_, i) => i) }, {}),
    'suppress-tokens must be at most 65536 entries, got 70000',
  );
});

test('JSON forms: strict types, Hugging Face and OpenAI shorthands, null is unset, both spellings', () => {
  assert.deepEqual(
    settingsFromJson(
      { 'top-p': 0.9, stop: 'END', eos_token_id: 2, temperature: null, do_sample: false },
      {},
    ),
    { top_p: 0.9, stop: ['END'], eos_token_id: [2], do_sample: false },
  );
  assert.deepEqual(
    settingsFromJson(
      { top_p: 'high', prompt: 'x', other: 1 },
      {},
      { unknown: 'ignore', invalid: 'ignore', skip: ['prompt'] },
    ),
    {},
  );
});

test('HTTP bodies have one field table (serve reads it, the client writes it); errors name the field', () => {
  assert.deepEqual(
    settingsFromFields({ max_tokens: 16, n: 2, temperature: 0.7, stop: 'x', user: 'u' }),
    { max_new_tokens: 16, num_return_sequences: 2, temperature: 0.7, do_sample: true, stop: ['x'] },
  );
  assert.equal(settingsFromFields({ temperature: 0 }).do_sample, false);
  assert.throws(
    () => settingsFromFields({ n: 20 }, { ...DEFAULT_FIELD_LIMITS, n: 8 }),
    (e: unknown) =>
      e instanceof FieldError &&
      e.field === 'n' &&
      /'n' must be an integer in 1..8/.test(e.message),
  );
  assert.throws(
    () => settingsFromFields({ max_tokens: '5' }),
    (e: unknown) => e instanceof FieldError && e.field === 'max_tokens',
  );
  // Every setting a field carries is a setting of the schema, and the table reads what it writes.
  for (const row of OPENAI_FIELDS) assert.ok(settingKey(row.setting), row.field);
  const body = fieldsFromSettings({ ...DEFAULT_SETTINGS, top_k: 5, seed: 3, max_new_tokens: 9 });
  const back = settingsFromFields(body);
  assert.equal(back.top_k, 5);
  assert.equal(back.seed, 3);
  assert.equal(back.max_new_tokens, 9);
});
