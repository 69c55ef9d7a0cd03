/**
 * Prepares one chat turn: fits the conversation into the context window (dropping the oldest turns),
 * builds the prompt and the generate() request. Shared by the TUI and the piped chat so both behave
 * the same way.
 */
import type { GenerationEvent } from '../events.js';
import type { GenerationSettings } from '../settings.js';
import type { ChatMessage } from './chat-template.js';
import { buildPrompt, chatModeOf, type ChatModelFacts, type Conversation } from './conversation.js';
import { fitConversation } from './context-window.js';

/** The generate() request fields a chat turn sets (the core's GenerateRequest). */
export interface ChatRequest {
  prompt: string;
  settings: GenerationSettings;
  signal?: AbortSignal;
  addSpecialTokens?: boolean;
  keepCache?: boolean;
  /** The conversation as messages (remote engines apply their own template to them). */
  messages?: ChatMessage[];
}

/** What a chat needs from a loaded model: the core's TextGenerator satisfies it. */
export interface ChatEngine {
  readonly info: ChatModelFacts & { contextLength: number };
  generate(request: ChatRequest): AsyncIterable<GenerationEvent>;
  tokenize(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]>;
}

/** A turn ready to send. */
export interface PreparedTurn {
  /** The conversation after dropping turns that did not fit; keep it as the new conversation. */
  conversation: Conversation;
  droppedTurns: number;
  promptTokens: number;
  request: ChatRequest;
}

/**
 * Fits `conversation` (whose last message is the user's) and returns the request for the reply.
 * In single-turn mode only the last message is sent, so earlier turns are never dropped.
 */
export async function prepareTurn(
  engine: Pick<ChatEngine, 'info' | 'tokenize'>,
  conversation: Conversation,
  settings: GenerationSettings,
  signal?: AbortSignal,
): Promise<PreparedTurn> {
  // The reply keeps at least a quarter of the window (or max_new_tokens when smaller): reserving the
  // full max_new_tokens would refuse every message on small models (the default model's context is 256).
  const budget = {
    contextLength: engine.info.contextLength,
    reserve: Math.min(settings.max_new_tokens, Math.floor(engine.info.contextLength / 4)),
  };
  const measure = async (c: Conversation) => {
    const plan = buildPrompt(engine.info, c);
    return (await engine.tokenize(plan.prompt, { addSpecialTokens: plan.addSpecialTokens })).length;
  };
  const single = chatModeOf(engine.info) === 'single-turn';
  const lastUser = conversation.messages.slice(
    conversation.messages.findLastIndex((m) => m.role === 'user'),
  );
  const fitted = await fitConversation(
    single ? { ...conversation, messages: lastUser } : conversation,
    budget,
    measure,
  );
  const result = single ? { ...fitted, conversation } : fitted;
  const plan = buildPrompt(engine.info, result.conversation);
  return {
    conversation: result.conversation,
    droppedTurns: result.droppedTurns,
    promptTokens: result.promptTokens,
    request: {
      prompt: plan.prompt,
      settings,
      signal,
      addSpecialTokens: plan.addSpecialTokens,
      keepCache: plan.keepCache,
      messages: plan.messages,
    },
  };
}
