// Scriptable chat end to end: the built binary with piped stdin against the real stories260K model.
// Replies are checked against `textgen generate` on the same text, which also checks that the core's
// KV-cache reuse between turns gives the same tokens as a fresh prompt. Every test has its own
// sandbox, so none depends on another's files.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, chatSandbox, textgen, type ChatSandbox } from './chat-fixtures.js';
import { parseSessionText, type SessionState } from '../../generation/chat/session-log.js';
// Every test here chats with the fixture model: skipped, with the reason, when it is missing.
import { sharedTest as test } from '../shared-fixtures.js';

const greedy = ['--temperature', '0', '--max-new-tokens', '24'];

async function withBox(fn: (box: ChatSandbox) => Promise<void>): Promise<void> {
  assertBuilt();
  const box = chatSandbox();
  try {
    await fn(box);
  } finally {
    box.cleanup();
  }
}

const sessionsOf = (box: ChatSandbox) => join(box.env.TEXTGEN_DATA_DIR, 'sessions');

function readState(box: ChatSandbox, name: string): SessionState {
  const path = join(sessionsOf(box), `${name}.jsonl`);
  return parseSessionText(readFileSync(path, 'utf8'), path).state;
}

test('completion mode: each line is a turn, each reply one stdout line, equal to a fresh generate; no session file without --session', () =>
  withBox(async (box) => {
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
    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(lines[0], first.stdout);
    const transcript = `Once upon a time${lines[0]} The dog`;
    const second = await textgen(
      ['generate', '--model', 'local/stories', ...greedy, transcript],
      box.env,
    );
    assert.equal(second.exitCode, 0, second.stderr);
    assert.equal(lines[1], second.stdout);
    assert.ok(!existsSync(sessionsOf(box)), 'a piped chat without --session wrote a session file');
  }));

test('--session saves an append-only log; --continue resumes it and appends', () =>
  withBox(async (box) => {
    const chat = await textgen(
      ['chat', '--model', 'local/stories', '--session', 'story', ...greedy],
      box.env,
      'Once upon a time\nThe dog\n',
    );
    assert.equal(chat.exitCode, 0, chat.stderr);
    const saved = readState(box, 'story');
    assert.equal(saved.model, 'local/stories');
    assert.equal(saved.messages.length, 4);
    const before = readFileSync(join(sessionsOf(box), 'story.jsonl'), 'utf8');
    const resumed = await textgen(['chat', '--continue', ...greedy], box.env, 'Then\n');
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    const after = readFileSync(join(sessionsOf(box), 'story.jsonl'), 'utf8');
    assert.ok(after.startsWith(before), 'the file was rewritten, not appended to');
    const state = readState(box, 'story');
    assert.equal(state.messages.length, 6);
    assert.deepEqual(state.messages.slice(0, 4), saved.messages);
    assert.equal(state.messages[5].content, resumed.stdout.replace(/\n$/, ''));
  }));

test('chat mode with a template and a named session; the system prompt is saved', () =>
  withBox(async (box) => {
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
    const saved = readState(box, 'named');
    assert.equal(saved.system, 'Tell stories.');
    assert.deepEqual(
      saved.messages.map((m) => m.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
  }));

test('a conversation longer than the context drops old turns from the view, never from the file', () =>
  withBox(async (box) => {
    const turns = Array.from(
      { length: 6 },
      (_, i) => `Turn ${i}: the little cat went to the park to play.`,
    );
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
      `${turns.join('\n')}\n`,
    );
    assert.equal(chat.exitCode, 0, chat.stderr);
    assert.match(
      chat.stderr,
      /textgen: Context full: dropped the \d+ oldest turns? from the model's view \(the system prompt is kept\)\./,
    );
    const saved = readState(box, 'long');
    const users = saved.messages.filter((m) => m.role === 'user').map((m) => m.content);
    assert.deepEqual(users, turns);
    assert.ok(
      chat.stdout.endsWith(saved.messages.at(-1)!.content),
      'the last reply on stdout is the last saved message',
    );
  }));

test('piped lines starting with / are slash commands (output on stderr); // sends a literal slash', () =>
  withBox(async (box) => {
    const chat = await textgen(
      ['chat', '--model', 'local/stories', '--session', 'cmds', '-n', '8'],
      box.env,
      '/set temperature 0\n/set max_new_tokens 6\n/show\n//etc is a path\n/regen\n/nope\n',
    );
    assert.equal(chat.exitCode, 1, chat.stderr);
    assert.match(chat.stderr, /textgen: temperature = 0\n/);
    assert.match(chat.stderr, /textgen: max-new-tokens = 6\n/);
    assert.match(chat.stderr, /\* temperature = 0/);
    assert.match(chat.stderr, /Regenerating the last reply/);
    assert.match(
      chat.stderr,
      /textgen: error: Unknown command \/nope\. Type \/help for the list\./,
    );
    assert.match(chat.stderr, /textgen: error: Some chat commands failed/);
    // Two replies (the message and its regeneration), equal at temperature 0, on stdout only.
    const replies = chat.stdout.split('\n');
    assert.equal(replies.length, 2);
    assert.equal(replies[0], replies[1]);
    const saved = readState(box, 'cmds');
    assert.deepEqual(saved.messages[0], { role: 'user', content: '/etc is a path' });
    assert.equal(saved.messages.length, 2);
    assert.deepEqual(saved.settings, { temperature: 0, max_new_tokens: 6 });
    const plain = await textgen(
      ['generate', '--model', 'local/stories', '--temperature', '0', '-n', '6', '/etc is a path'],
      box.env,
    );
    assert.equal(replies[0], plain.stdout);
  }));

test('--list-sessions lists saved sessions; --rm-session deletes one', () =>
  withBox(async (box) => {
    for (const name of ['alpha', 'beta'])
      assert.equal(
        (
          await textgen(
            ['chat', '--model', 'local/stories', '--session', name, ...greedy],
            box.env,
            'Hi\n',
          )
        ).exitCode,
        0,
      );
    const list = await textgen(['chat', '--list-sessions'], box.env);
    assert.equal(list.exitCode, 0, list.stderr);
    assert.match(list.stdout, /^NAME +MESSAGES +UPDATED +MODEL\n/);
    assert.match(list.stdout, /\nalpha +2 +\S+ ago +local\/stories(\n|$)/);
    assert.match(list.stdout, /\nbeta +2 +\S+ ago +local\/stories(\n|$)/);
    const rm = await textgen(['chat', '--rm-session', 'alpha'], box.env);
    assert.equal(rm.exitCode, 0, rm.stderr);
    assert.deepEqual(readdirSync(sessionsOf(box)), ['beta.jsonl']);
    const again = await textgen(['chat', '--rm-session', 'alpha'], box.env);
    assert.equal(again.exitCode, 7);
    assert.match(again.stderr, /^textgen: error: No session at .*alpha\.jsonl\./);
  }));

test('--continue with no saved session and --continue with --session are usage errors', () =>
  withBox(async (box) => {
    const none = await textgen(['chat', '--continue'], box.env, 'x\n');
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /no saved chat session to continue/);
    const both = await textgen(['chat', '--continue', '--session', 'a'], box.env, 'x\n');
    assert.equal(both.exitCode, 2);
  }));
