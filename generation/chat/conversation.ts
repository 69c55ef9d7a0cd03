/**
 * A chat conversation and the prompt text it turns into. Three modes, picked from the model:
 * `chat` (the model has a chat template: the whole conversation is rendered each turn, so the core can
 * reuse the KV cache of the common prefix), `completion` (no template: the transcript is plain text
 * and each reply continues it) and `single-turn` (text-to-text models: each input stands alone).
 */
import { join } from 'node:path';
import type { ChatMessage, TemplateSpecialTokens } from './chat-template.js';
import { renderChatTemplateBudgeted } from './template-render.js';

/** How a conversation becomes a prompt; see the file comment. */
export type ChatMode = 'chat' | 'completion' | 'single-turn';

/** The model facts prompt building needs (a subset of the core's ModelInfo). */
export interface ChatModelFacts {
  task: 'text-generation' | 'text2text-generation';
  chatTemplate?: string;
  specialTokens: TemplateSpecialTokens;
  /** The engine applies its own chat template to messages (a remote engine): chat mode without one here. */
  serverTemplate?: boolean;
  /** The model folder, to name its template in errors. */
  dir?: string;
}

/** How errors name a model's chat template. */
export function templateName(model: Pick<ChatModelFacts, 'dir'>): string {
  return model.dir
    ? `the chat template in ${join(model.dir, 'tokenizer_config.json')}`
    : "the model's chat template";
}

/** The conversation: an optional system prompt and alternating user/assistant messages. */
export interface Conversation {
  system?: string;
  messages: ChatMessage[];
}

/** The prompt of one turn and how the core must tokenize and cache it. */
export interface PromptPlan {
  prompt: string;
  /** false for templated text (the template writes BOS itself). */
  addSpecialTokens: boolean;
  /** true when the next turn's prompt extends this one, so the KV cache is worth keeping. */
  keepCache: boolean;
  /** Chat mode without a local template: the messages, for the engine to apply its own. */
  messages?: ChatMessage[];
}

/** Picks the mode for a model: text-to-text → single-turn; a chat template → chat; else completion. */
export function chatModeOf(
  model: Pick<ChatModelFacts, 'task' | 'chatTemplate' | 'serverTemplate'>,
): ChatMode {
  if (model.task === 'text2text-generation') return 'single-turn';
  return model.chatTemplate || model.serverTemplate ? 'chat' : 'completion';
}

/**
 * The completion-mode transcript: the system text (if any) on its own line, then every message's
 * text; a user message is separated from the text before it by one space unless that text already
 * ends in whitespace, while a reply is appended verbatim because the model wrote it as a continuation.
 */
export function completionTranscript(conversation: Conversation): string {
  let text = conversation.system ? `${conversation.system}\n` : '';
  for (const message of conversation.messages) {
    const needsSpace =
      message.role === 'user' &&
      text.length > 0 &&
      !/\s$/.test(text) &&
      !/^\s/.test(message.content);
    text += (needsSpace ? ' ' : '') + message.content;
  }
  return text;
}

/**
 * Builds the prompt for the model's reply to the conversation's last user message. A chat template
 * is rendered off the main thread within a time and memory budget (template-render.ts).
 */
export async function buildPrompt(
  model: ChatModelFacts,
  conversation: Conversation,
  signal?: AbortSignal,
): Promise<PromptPlan> {
  const mode = chatModeOf(model);
  if (mode === 'single-turn') {
    const last = conversation.messages.findLast((m) => m.role === 'user');
    return { prompt: last?.content ?? '', addSpecialTokens: true, keepCache: false };
  }
  if (mode === 'completion') {
    return { prompt: completionTranscript(conversation), addSpecialTokens: true, keepCache: true };
  }
  const messages: ChatMessage[] = conversation.system
    ? [{ role: 'system', content: conversation.system }, ...conversation.messages]
    : conversation.messages;
  // Without a template here the engine renders the messages; the plain text only measures them.
  if (!model.chatTemplate) {
    const text = messages.map((m) => `${m.role}: ${m.content}`).join('\n');
    return { prompt: text, addSpecialTokens: false, keepCache: false, messages };
  }
  const prompt = await renderChatTemplateBudgeted(
    model.chatTemplate,
    { messages, addGenerationPrompt: true, specialTokens: model.specialTokens },
    { signal, name: templateName(model) },
  );
  return { prompt, addSpecialTokens: false, keepCache: true };
}
