/**
 * The prompt of a one-shot generation (`textgen generate`, `--jsonl` lines): an instruct model's
 * chat template is applied by default, as `ollama run` does, so a question gets an answer rather
 * than a continuation; `raw` sends the text exactly as given (the pre-template behaviour).
 */
import { UsageError } from '../errors.js';
import type { ChatMessage } from './chat-template.js';
import {
  buildPrompt,
  chatModeOf,
  completionTranscript,
  type ChatModelFacts,
} from './conversation.js';

/** How the prompt is built: `auto` uses the template when the model has one. */
export type OneShotMode = 'auto' | 'chat' | 'raw';

/** Options of {@link oneShotPrompt}. */
export interface OneShotOptions {
  mode: OneShotMode;
  /** A system prompt: the template's system message, or a first line for a model without one. */
  system?: string;
  signal?: AbortSignal;
}

/** The text to generate from, and how the core must tokenize it. */
export interface OneShotPrompt {
  prompt: string;
  /** false for templated text (the template writes BOS itself). */
  addSpecialTokens: boolean;
  /** Whether the chat template was applied (here, or by a remote engine). */
  templated: boolean;
  /** For an engine that applies its own template (a remote server): the messages to send. */
  messages?: ChatMessage[];
}

/**
 * Builds the prompt for `text`. Throws a UsageError for contradictions: `chat` on a model without a
 * template, or a system prompt with `raw` or for a text-to-text model.
 */
export async function oneShotPrompt(
  model: ChatModelFacts,
  text: string,
  options: OneShotOptions,
): Promise<OneShotPrompt> {
  const mode = chatModeOf(model);
  if (options.mode === 'chat' && mode !== 'chat')
    throw new UsageError(
      'This model has no chat template, so --chat cannot be applied.',
      'Drop --chat: the prompt is then sent as it is.',
    );
  if (options.system !== undefined && (options.mode === 'raw' || mode === 'single-turn'))
    throw new UsageError(
      options.mode === 'raw'
        ? '--system cannot be combined with --raw or --no-chat (a system prompt needs the chat template).'
        : '--system does not apply to text-to-text models.',
    );
  // A remote engine's template is unknown here (a server may have none): it is asked for with --chat.
  const remoteOnly = options.mode === 'auto' && !model.chatTemplate && model.serverTemplate;
  if (
    options.mode === 'raw' ||
    mode === 'single-turn' ||
    (remoteOnly && options.system === undefined)
  )
    return { prompt: text, addSpecialTokens: true, templated: false };
  const conversation = {
    system: options.system,
    messages: [{ role: 'user' as const, content: text }],
  };
  if (mode === 'completion')
    return { prompt: completionTranscript(conversation), addSpecialTokens: true, templated: false };
  const plan = await buildPrompt(model, conversation, options.signal);
  return {
    prompt: plan.prompt,
    addSpecialTokens: plan.addSpecialTokens,
    templated: true,
    ...(plan.messages ? { messages: plan.messages } : {}),
  };
}
