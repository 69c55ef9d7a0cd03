/**
 * Prepares one chat turn: fits the conversation into the context window (dropping the oldest turns),
 * builds the prompt and the generate() request. Shared by the TUI and the piped chat so both behave
 * the same way.
 */
import type { GenerationEvent } from '../events.js';
import type { GenerationSettings } from '../settings.js';
import type { ChatMessage } from './chat-template.js';
import {
  buildPrompt,
  chatModeOf,
  type ChatModelFacts,
  type Conversation,
  type PromptPlan,
} from './conversation.js';
import { fitView } from './context-window.js';

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
  /** The first message of the model's view (the history before it stays, unseen by the model). */
  start: number;
  /** Turns left out of the view this time, beyond those already out before `from`. */
  droppedTurns: number;
  promptTokens: number;
  request: ChatRequest;
}

/**
 * Fits `conversation` (whose last message is the user's) from view start `from` on, and returns the
 * request for the reply. In single-turn mode only the last user message is sent, so nothing is
 * ever dropped.
 */
export async function prepareTurn(
  engine: Pick<ChatEngine, 'info' | 'tokenize'>,
  conversation: Conversation,
  from: number,
  settings: GenerationSettings,
  signal?: AbortSignal,
): Promise<PreparedTurn> {
  // The reply keeps at least a quarter of the window (or max_new_tokens when smaller): reserving the
  // full max_new_tokens would refuse every message on small models (the default model's context is 256).
  const budget = {
    contextLength: engine.info.contextLength,
    reserve: Math.min(settings.max_new_tokens, Math.floor(engine.info.contextLength / 4)),
  };
  // Plans by view length: the view that fits was measured already, so its prompt is not rendered twice.
  const plans = new Map<number, PromptPlan>();
  const measure = async (c: Conversation) => {
    const plan = await buildPrompt(engine.info, c, signal);
    plans.set(c.messages.length, plan);
    return (await engine.tokenize(plan.prompt, { addSpecialTokens: plan.addSpecialTokens })).length;
  };
  const single = chatModeOf(engine.info) === 'single-turn';
  const lastUser = conversation.messages.findLastIndex((m) => m.role === 'user');
  const fit = await fitView(conversation, single ? lastUser : from, budget, measure, signal);
  const view = { ...conversation, messages: conversation.messages.slice(fit.start) };
  const plan = plans.get(view.messages.length) ?? (await buildPrompt(engine.info, view, signal));
  return {
    start: single ? from : fit.start,
    droppedTurns: single ? 0 : fit.droppedTurns,
    promptTokens: fit.promptTokens,
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
