/**
 * Keeps a conversation inside the model's context window: before a turn, the oldest turns (a user
 * message and the replies after it) are dropped until prompt + max_new_tokens fits. The system prompt
 * and the newest user message are never dropped; when even they do not fit, the turn is refused with
 * an InputError rather than truncated silently.
 */
import { InputError } from '../errors.js';
import type { ChatMessage } from './chat-template.js';
import type { Conversation } from './conversation.js';

/** The space a turn needs. */
export interface ContextBudget {
  contextLength: number;
  /** Tokens to keep free for the reply. */
  reserve: number;
}

/** The conversation that fits, how many turns were dropped to get there, and its prompt size. */
export interface FitResult {
  conversation: Conversation;
  droppedTurns: number;
  promptTokens: number;
}

/** Splits messages into turns: each starts at a user message (leading replies form their own turn). */
export function splitTurns(messages: ChatMessage[]): ChatMessage[][] {
  const turns: ChatMessage[][] = [];
  for (const message of messages) {
    if (message.role === 'user' || turns.length === 0) turns.push([message]);
    else turns[turns.length - 1].push(message);
  }
  return turns;
}

/**
 * Drops the oldest turns until `measure(conversation)` (the prompt's token count) plus the reserve fits
 * the context length. `measure` is injected so this stays independent of any tokenizer.
 */
export async function fitConversation(
  conversation: Conversation,
  budget: ContextBudget,
  measure: (c: Conversation) => Promise<number>,
): Promise<FitResult> {
  const turns = splitTurns(conversation.messages);
  const limit = budget.contextLength - budget.reserve;
  for (let dropped = 0; dropped < Math.max(turns.length, 1); dropped++) {
    const candidate: Conversation = { ...conversation, messages: turns.slice(dropped).flat() };
    const promptTokens = await measure(candidate);
    if (promptTokens <= limit)
      return { conversation: candidate, droppedTurns: dropped, promptTokens };
    if (dropped === turns.length - 1) {
      throw new InputError(
        `The message needs ${promptTokens} prompt tokens; with ${budget.reserve} kept for the reply that exceeds the context length of ${budget.contextLength}.`,
        'Shorten the message or the system prompt, or lower max_new_tokens (/set max_new_tokens N).',
      );
    }
  }
  throw new InputError('There is no message to reply to.');
}
