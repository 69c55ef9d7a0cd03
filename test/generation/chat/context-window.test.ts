import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitConversation, splitTurns } from '../../../generation/chat/context-window.js';
import type { Conversation } from '../../../generation/chat/conversation.js';
import type { ChatMessage } from '../../../generation/chat/chat-template.js';
import { InputError } from '../../../generation/errors.js';

// One "token" per word of every message plus the system prompt: easy to count by hand.
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const measure = async (c: Conversation) =>
  words(c.system ?? '') + c.messages.reduce((n, m) => n + words(m.content), 0);

const u = (content: string): ChatMessage => ({ role: 'user', content });
const a = (content: string): ChatMessage => ({ role: 'assistant', content });

test('splitTurns groups each user message with the replies after it', () => {
  assert.deepEqual(splitTurns([u('1'), a('2'), u('3'), a('4'), u('5')]), [
    [u('1'), a('2')],
    [u('3'), a('4')],
    [u('5')],
  ]);
  assert.deepEqual(splitTurns([a('0'), u('1')]), [[a('0')], [u('1')]]);
  assert.deepEqual(splitTurns([]), []);
});

const cases = [
  { name: 'fits: nothing dropped', contextLength: 20, reserve: 5, dropped: 0, tokens: 9 },
  { name: 'exactly at the limit still fits', contextLength: 14, reserve: 5, dropped: 0, tokens: 9 },
  {
    name: 'one token over drops the oldest turn',
    contextLength: 13,
    reserve: 5,
    dropped: 1,
    tokens: 6,
  },
  {
    name: 'drops two turns, keeps system and newest message',
    contextLength: 10,
    reserve: 5,
    dropped: 2,
    tokens: 3,
  },
];
// system 2 words; turns of 3, 3 and 1 words: 9 in all, 6 without the first turn, 3 without two.
const conversation: Conversation = {
  system: 'be brief',
  messages: [u('a b'), a('c'), u('d'), a('e f'), u('g')],
};

for (const c of cases) {
  test(`fitConversation: ${c.name}`, async () => {
    const result = await fitConversation(
      conversation,
      { contextLength: c.contextLength, reserve: c.reserve },
      measure,
    );
    assert.equal(result.droppedTurns, c.dropped);
    assert.equal(result.promptTokens, c.tokens);
    assert.equal(result.conversation.system, 'be brief');
    assert.deepEqual(result.conversation.messages.at(-1), u('g'));
  });
}

test('fitConversation refuses (never truncates) when the newest message alone does not fit', async () => {
  await assert.rejects(
    fitConversation(conversation, { contextLength: 7, reserve: 5 }, measure),
    (error: unknown) => {
      assert.ok(error instanceof InputError, 'error instanceof InputError');
      assert.match(
        error.message,
        /3 prompt tokens; with 5 kept for the reply that exceeds the context length of 7/,
      );
      return true;
    },
  );
});
