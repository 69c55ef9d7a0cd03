import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitView, splitTurns, turnStarts } from '../../../generation/chat/context-window.js';
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
  test(`fitView: ${c.name}`, async () => {
    const result = await fitView(
      conversation,
      0,
      { contextLength: c.contextLength, reserve: c.reserve },
      measure,
    );
    assert.equal(result.droppedTurns, c.dropped);
    assert.equal(result.promptTokens, c.tokens);
    assert.equal(result.start, turnStarts(conversation.messages)[c.dropped]);
  });
}

test('fitView refuses (never truncates) when the newest message alone does not fit', async () => {
  await assert.rejects(
    fitView(conversation, 0, { contextLength: 7, reserve: 5 }, measure),
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

test('fitView starts from the previous view and counts only the turns it drops beyond it', async () => {
  // From turn 1 (index 2) the view already fits: nothing more is dropped, one measurement.
  let calls = 0;
  const counted = async (c: Conversation) => (calls++, measure(c));
  const result = await fitView(conversation, 2, { contextLength: 12, reserve: 5 }, counted);
  assert.deepEqual([result.start, result.droppedTurns, calls], [2, 0, 1]);
});

test('fitView measures O(log turns) prompts, not one per dropped turn', async () => {
  const messages: ChatMessage[] = [];
  for (let i = 0; i < 2000; i++) messages.push(u(`question ${i}`), a(`answer ${i}`));
  messages.push(u('last one'));
  let calls = 0;
  let longest = 0;
  const counted = async (c: Conversation) => (
    calls++,
    (longest = Math.max(longest, c.messages.length)),
    measure(c)
  );
  // The newest 10 turns fit (4 words per old turn, 2 for the last; system 2): 2 + 9*4 + 2 = 40.
  const result = await fitView(
    { system: 'be brief', messages },
    0,
    { contextLength: 45, reserve: 5 },
    counted,
  );
  assert.equal(result.promptTokens, 40);
  assert.equal(result.start, messages.length - 19);
  assert.equal(result.droppedTurns, 1991);
  assert.ok(calls <= 2 + Math.ceil(Math.log2(2001)), `${calls} measurements`);
  // A history far beyond the context is searched from its newest turn: never measured whole.
  assert.ok(longest <= 4 * 19, `measured a prompt of ${longest} messages`);
});

test('fitView on a short view that no longer fits finds the same start as a linear scan', async () => {
  const messages: ChatMessage[] = [];
  for (let i = 0; i < 12; i++) messages.push(u(`q ${i}`), a(`a ${i}`));
  messages.push(u('end'));
  const budget = { contextLength: 20, reserve: 3 };
  const result = await fitView({ messages }, 0, budget, measure);
  let start = 0;
  while ((await measure({ messages: messages.slice(start) })) > 17) start += 2;
  assert.equal(result.start, start);
  assert.equal(result.droppedTurns, start / 2);
});

test('fitView stops at once when the signal is aborted', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    fitView(conversation, 0, { contextLength: 10, reserve: 5 }, measure, controller.signal),
    /Interrupted/,
  );
});
