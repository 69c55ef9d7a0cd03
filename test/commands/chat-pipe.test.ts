// Scriptable chat end to end: the built binary with piped stdin against the real stories260K model.
// Replies are checked against `textgen generate` on the same text, which also checks that the core's
// KV-cache reuse between turns gives the same tokens as a fresh prompt.
// Each test has its own sandbox (cache, config, sessions), so any one of them runs alone.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { assertBuilt, chatSandbox, textgen, type ChatSandbox } from './chat-fixtures.js';
// Every test here chats with the fixture model: skipped, with the reason, when it is missing.
import { sharedTest as test } from '../shared-fixtures.js';

/** A saved chat session file, as far as these tests read it. */
interface SavedSession {
  model: string;
  system?: string;
  messages: Array<{ role: string; content: string }>;
}

/** A fresh sandbox for one test, removed when the test ends. */
function sandboxFor(t: TestContext): ChatSandbox {
  assertBuilt();
  const box = chatSandbox();
  t.after(() => box.cleanup());
  return box;
}

/** Reads a session file of the sandbox. */
function readSession(box: ChatSandbox, file: string): SavedSession {
  return JSON.parse(
    readFileSync(join(box.env.TEXTGEN_DATA_DIR, 'sessions', file), 'utf8'),
  ) as SavedSession;
}

const greedy = ['--temperature', '0', '--max-new-tokens', '24'];

/** A piped two-turn chat with local/stories (completion mode); it must succeed. */
async function twoTurns(box: ChatSandbox) {
  const chat = await textgen(
    ['chat', '--model', 'local/stories', ...greedy],
    box.env,
    'Once upon a time\nThe dog\n',
  );
  assert.equal(chat.exitCode, 0, chat.stderr);
  return chat;
}

test('completion mode: each line is a turn, each reply one stdout line, equal to a fresh generate', async (t) => {
  const box = sandboxFor(t);
  const chat = await twoTurns(box);
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

test('the session is autosaved and --continue resumes it with the history', async (t) => {
  const box = sandboxFor(t);
  const chat = await twoTurns(box);
  const files = readdirSync(join(box.env.TEXTGEN_DATA_DIR, 'sessions'));
  assert.equal(files.length, 1, `one autosaved session, found ${files.join(', ')}`);
  const saved = readSession(box, files[0]);
  assert.equal(saved.model, 'local/stories');
  assert.equal(saved.messages.length, 4);
  assert.equal(saved.messages[3].content, chat.stdout.split('\n')[1]);
  const resumed = await textgen(['chat', '--continue', ...greedy], box.env, 'Then\n');
  assert.equal(resumed.exitCode, 0, resumed.stderr);
  const after = readSession(box, files[0]);
  assert.equal(after.messages.length, 6);
  assert.deepEqual(after.messages.slice(0, 4), saved.messages);
  assert.equal(after.messages[5].content, resumed.stdout.replace(/\n$/, ''));
});

test('chat mode with a template and a named session; the system prompt is saved', async (t) => {
  const box = sandboxFor(t);
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
  const saved = readSession(box, 'named.json');
  assert.equal(saved.system, 'Tell stories.');
  assert.deepEqual(
    saved.messages.map((m) => m.role),
    ['user', 'assistant', 'user', 'assistant'],
  );
});

test('a conversation longer than the context drops old turns with a notice on stderr', async (t) => {
  const box = sandboxFor(t);
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
  const saved = readSession(box, 'long.json');
  const users = saved.messages.filter((m) => m.role === 'user').map((m) => m.content);
  assert.ok(users.length < 6 && users.length > 0, `${users.length} user turns kept`);
  assert.equal(users.at(-1), 'Turn 5: the little cat went to the park to play.');
  const last = saved.messages.at(-1)!.content;
  assert.ok(chat.stdout.endsWith(last), 'stdout ends with the last saved reply');
});

test('--continue with no saved session and --continue with --session are usage errors', async (t) => {
  const box = sandboxFor(t);
  const none = await textgen(['chat', '--continue'], box.env, 'x\n');
  assert.equal(none.exitCode, 2);
  assert.match(none.stderr, /no saved chat session to continue/);
  const both = await textgen(['chat', '--continue', '--session', 'a'], box.env, 'x\n');
  assert.equal(both.exitCode, 2);
});
