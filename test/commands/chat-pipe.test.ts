// Scriptable chat end to end: the built binary with piped stdin against the real stories260K model.
// Replies are checked against `textgen generate` on the same text, which also checks that the core's
// KV-cache reuse between turns gives the same tokens as a fresh prompt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, chatSandbox, textgen, type ChatSandbox } from './chat-fixtures.js';

let box: ChatSandbox;
before(() => {
  assertBuilt();
  box = chatSandbox();
});
after(() => box.cleanup());

const greedy = ['--temperature', '0', '--max-new-tokens', '24'];

test('completion mode: each line is a turn, each reply one stdout line, equal to a fresh generate', async () => {
  const chat = await textgen(
    ['chat', '--model', 'local/stories', ...greedy],
    box.env,
    'Once upon a time\nThe dog\n',
  );
  assert.equal(chat.exitCode, 0, chat.stderr);
  const lines = chat.stdout.split('\n');
  assert.equal(lines.length, 2);
  const first = await textgen(
    ['generate', '--model', 'local/stories', ...greedy, 'Once upon a time'],
    box.env,
  );
  assert.equal(lines[0], first.stdout);
  const transcript = `Once upon a time${lines[0]} The dog`;
  const second = await textgen(
    ['generate', '--model', 'local/stories', ...greedy, transcript],
    box.env,
  );
  assert.equal(lines[1], second.stdout);
});

test('the session is autosaved and --continue resumes it with the history', async () => {
  const dir = join(box.env.TEXTGEN_DATA_DIR, 'sessions');
  const [file] = readdirSync(dir);
  const saved = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  assert.equal(saved.model, 'local/stories');
  assert.equal(saved.messages.length, 4);
  const resumed = await textgen(['chat', '--continue', ...greedy], box.env, 'Then\n');
  assert.equal(resumed.exitCode, 0, resumed.stderr);
  const after = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  assert.equal(after.messages.length, 6);
  assert.deepEqual(after.messages.slice(0, 4), saved.messages);
  assert.equal(after.messages[5].content, resumed.stdout.replace(/\n$/, ''));
});

test('chat mode with a template and a named session; the system prompt is saved', async () => {
  const chat = await textgen(
    [
      'chat',
      '--model',
      'local/stories-chat',
      '--session',
      'named',
      '--system',
      'Tell stories.',
      ...greedy,
    ],
    box.env,
    'Hi\nMore\n',
  );
  assert.equal(chat.exitCode, 0, chat.stderr);
  assert.equal(chat.stdout.split('\n').length, 2);
  const saved = JSON.parse(
    readFileSync(join(box.env.TEXTGEN_DATA_DIR, 'sessions', 'named.json'), 'utf8'),
  );
  assert.equal(saved.system, 'Tell stories.');
  assert.deepEqual(
    saved.messages.map((m: { role: string }) => m.role),
    ['user', 'assistant', 'user', 'assistant'],
  );
});

test('a conversation longer than the context drops old turns with a notice on stderr', async () => {
  const lines = Array.from(
    { length: 6 },
    (_, i) => `Turn ${i}: the little cat went to the park to play.`,
  ).join('\n');
  const chat = await textgen(
    [
      'chat',
      '--model',
      'local/stories',
      '--session',
      'long',
      '--temperature',
      '0',
      '--min-new-tokens',
      '100',
      '--max-new-tokens',
      '120',
    ],
    box.env,
    `${lines}\n`,
  );
  assert.equal(chat.exitCode, 0, chat.stderr);
  assert.match(chat.stderr, /context full: dropped the \d+ oldest turn\(s\)/);
  // The saved conversation is what the model saw last: the newest turns, without the dropped ones.
  const saved = JSON.parse(
    readFileSync(join(box.env.TEXTGEN_DATA_DIR, 'sessions', 'long.json'), 'utf8'),
  );
  const users = saved.messages
    .filter((m: { role: string }) => m.role === 'user')
    .map((m: { content: string }) => m.content);
  assert.ok(users.length < 6 && users.length > 0);
  assert.equal(users.at(-1), 'Turn 5: the little cat went to the park to play.');
  assert.ok(chat.stdout.endsWith(saved.messages.at(-1).content));
});

test('--continue with no saved session and --continue with --session are usage errors', async () => {
  const empty = { ...box.env, TEXTGEN_DATA_DIR: join(box.root, 'empty-data') };
  const none = await textgen(['chat', '--continue'], empty, 'x\n');
  assert.equal(none.exitCode, 2);
  assert.match(none.stderr, /no saved chat session to continue/);
  const both = await textgen(['chat', '--continue', '--session', 'a'], box.env, 'x\n');
  assert.equal(both.exitCode, 2);
});
