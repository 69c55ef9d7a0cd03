import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completeSlash, SETTING_NAMES } from '../../ui/slash-commands.js';
import {
  applySetting,
  helpText,
  messageText,
  parseSlash,
  SLASH_COMMANDS,
} from '../../generation/chat/slash.js';
import { settingKey, settingName } from '../../generation/settings-schema.js';
import { DEFAULT_SETTINGS } from '../../generation/settings.js';
import { UsageError } from '../../generation/errors.js';

test('parseSlash', () => {
  const cases: Array<[string, unknown]> = [
    ['hello', undefined],
    ['//not a command', undefined],
    ['/regen', { name: 'regen' }],
    ['/regen now', { name: 'error', message: '/regen takes no arguments.' }],
    ['/system Be brief.  ', { name: 'system', text: 'Be brief.' }],
    ['/system', { name: 'system', text: '' }],
    ['/set temperature 0.7', { name: 'set', param: 'temperature', value: '0.7' }],
    ['/set stop ["a b"]', { name: 'set', param: 'stop', value: '["a b"]' }],
    [
      '/set temperature',
      { name: 'error', message: 'Usage: /set NAME VALUE (Tab lists the settings).' },
    ],
    ['/save my chat', { name: 'save', file: 'my chat' }],
    ['/load', { name: 'error', message: 'Usage: /load FILE' }],
    ['/nope', { name: 'error', message: 'Unknown command /nope. Type /help for the list.' }],
  ];
  for (const [line, expected] of cases) assert.deepEqual(parseSlash(line), expected, line);
});

test('completeSlash', () => {
  const cases: Array<[string, string, string[]]> = [
    ['/re', '/regen', []],
    ['/se', '/set ', []],
    ['/s', '/s', ['/system', '/set', '/show', '/save']],
    ['/set rep', '/set repetition-penalty ', []],
    ['/set max_n', '/set max-new-tokens ', []],
    ['/set max', '/set max-', ['max-new-tokens', 'max-length']],
    ['/set m', '/set m', ['max-new-tokens', 'max-length', 'min-new-tokens', 'min-length', 'min-p']],
    ['/set zzz', '/set zzz', []],
    ['plain text', 'plain text', []],
  ];
  for (const [line, completed, candidates] of cases)
    assert.deepEqual(completeSlash(line), { line: completed, candidates }, line);
});

test('every setting of settings.ts can be /set, and /help lists every command', () => {
  for (const key of Object.keys(DEFAULT_SETTINGS))
    assert.ok(SETTING_NAMES.includes(settingName(key)), key);
  assert.equal(messageText('//etc/hosts'), '/etc/hosts');
  assert.equal(messageText('plain'), 'plain');
  const help = helpText();
  for (const c of SLASH_COMMANDS) assert.ok(help.includes(`/${c.name}`), c.name);
});

test('applySetting parses each kind and resets with default', () => {
  const cases: Array<[string, string, unknown]> = [
    ['max_new_tokens', '64', 64],
    ['max-new-tokens', '65', 65],
    ['temperature', '0.5', 0.5],
    ['do_sample', 'false', false],
    ['suppress_tokens', '1, 2,3', [1, 2, 3]],
    ['bad_words_ids', '[[5,6],[7]]', [[5, 6], [7]]],
    ['logit_bias', '13:-5,42:2', { 13: -5, 42: 2 }],
    ['stop', '["\\n\\n","User:"]', ['\n\n', 'User:']],
    ['stop', 'User:\\n', ['User:\n']],
    ['seed', '42', 42],
  ];
  for (const [name, raw, value] of cases)
    assert.deepEqual(applySetting({}, name, raw)[settingKey(name)!], value, `${name} ${raw}`);
  assert.deepEqual(applySetting({ top_k: 5, top_p: 0.9 }, 'top_k', 'default'), { top_p: 0.9 });
});

test('applySetting rejects bad values and unknown names with a UsageError', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['max_new_tokens', '1.5', /^max-new-tokens must be an integer in 0\.\.\d+, got '1\.5'$/],
    ['temperature', 'hot', /^temperature must be a number >= 0, got 'hot'$/],
    ['do_sample', 'yes', /do-sample must be true or false/],
    ['suppress_tokens', '1,x', /suppress-tokens must be a comma-separated list of token ids/],
    ['bad_words_ids', '[1,2]', /bad-words-ids must be a list of non-empty token-id lists/],
    ['num-beams', '1000000000', /num-beams must be an integer in 1\.\.256/],
    ['warmth', '1', /unknown setting 'warmth'/],
  ];
  for (const [name, raw, message] of bad)
    assert.throws(
      () => applySetting({}, name, raw),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      name,
    );
});
