/**
 * Keeps a conversation inside the model's context window: before a turn, the model's view starts at
 * the first turn (a user message and the replies after it) from which prompt + reserve fits. The
 * system prompt and the newest user message are always in the view; when even they do not fit, the
 * turn is refused with an InputError rather than truncated silently. The history itself is never
 * shortened: the view is an index into it.
 *
 * Finding the start costs one measurement when the view still fits (every turn until the context
 * fills), else a binary search over turn starts: O(log turns) measurements of one prompt each, so
 * resuming a long session is linear in its length (the old loop re-measured once per dropped turn).
 * A history far longer than the context is searched from its newest turn instead, so resuming it
 * measures only tails about the size of the context.
 */
import { AbortedError, InputError } from '../errors.js';
import type { ChatMessage } from './chat-template.js';
import type { Conversation } from './conversation.js';

/** The space a turn needs. */
export interface ContextBudget {
  contextLength: number;
  /** Tokens to keep free for the reply. */
  reserve: number;
}

/** Where the view starts, how many turns it left out beyond `from`, and its prompt size. */
export interface FitResult {
  /** Index of the view's first message in the conversation's messages. */
  start: number;
  /** Turns between `from` and `start` (0 when the view from `from` fits). */
  droppedTurns: number;
  promptTokens: number;
}

/** Indices where turns start: each user message (and 0, for leading replies). */
export function turnStarts(messages: ChatMessage[]): number[] {
  const starts: number[] = [];
  messages.forEach((m, i) => {
    if (m.role === 'user' || i === 0) starts.push(i);
  });
  return starts;
}

/** Splits messages into turns: each starts at a user message (leading replies form their own turn). */
export function splitTurns(messages: ChatMessage[]): ChatMessage[][] {
  const starts = turnStarts(messages);
  return starts.map((s, i) => messages.slice(s, starts[i + 1] ?? messages.length));
}

/**
 * More characters per token than any tokenizer averages over a conversation. It only orders the
 * search (a tail longer than this many characters per context token is not measured whole first),
 * never decides what fits.
 */
const CHARS_PER_TOKEN_CEILING = 32;

function charsFrom(messages: ChatMessage[], start: number): number {
  let chars = 0;
  for (let i = start; i < messages.length; i++) chars += messages[i].content.length;
  return chars;
}

/**
 * The view of `conversation` that fits: the smallest turn start >= `from` whose prompt
 * (`measure` of the system prompt and messages from there on) plus the reserve fits the context.
 * `measure` is injected so this stays independent of any tokenizer and template.
 */
export async function fitView(
  conversation: Conversation,
  from: number,
  budget: ContextBudget,
  measure: (c: Conversation) => Promise<number>,
  signal?: AbortSignal,
): Promise<FitResult> {
  const starts = turnStarts(conversation.messages).filter((s) => s >= from);
  if (starts.length === 0) throw new InputError('There is no message to reply to.');
  const limit = budget.contextLength - budget.reserve;
  const sizes = new Map<number, number>();
  const size = async (i: number) => {
    if (signal?.aborted) throw new AbortedError();
    if (!sizes.has(i))
      sizes.set(
        i,
        await measure({ ...conversation, messages: conversation.messages.slice(starts[i]) }),
      );
    return sizes.get(i)!;
  };
  const result = async (i: number) => ({
    start: starts[i],
    droppedTurns: i,
    promptTokens: await size(i),
  });
  const last = starts.length - 1;
  const long = charsFrom(conversation.messages, starts[0]) > limit * CHARS_PER_TOKEN_CEILING;
  if (!long && (await size(0)) <= limit) return result(0);
  if ((await size(last)) > limit)
    throw new InputError(
      `The message needs ${await size(last)} prompt tokens; with ${budget.reserve} kept for the reply that exceeds the context length of ${budget.contextLength}.`,
      'Shorten the message or the system prompt, or lower max_new_tokens (/set max-new-tokens N).',
    );
  // Invariant: starts[lo] does not fit, starts[hi] fits; fewer turns never make a longer prompt.
  let lo = 0;
  let hi = last;
  if (long) {
    // A resumed long history: gallop back from the newest turn, so only tails about the size of
    // the context are measured (never the whole history, which cannot fit anyway).
    for (let step = 1; hi > 0; step *= 2) {
      const probe = Math.max(0, hi - step);
      if ((await size(probe)) > limit) {
        lo = probe;
        break;
      }
      hi = probe;
    }
    if (hi === 0) return result(0);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((await size(mid)) <= limit) hi = mid;
    else lo = mid;
  }
  return result(hi);
}
