/**
 * The chat-template renderer process: renders templates away from the main process, so a template
 * that loops for ever or allocates without bound is stopped by its parent (kill, heap limit) while
 * the parent keeps handling Ctrl-C and SIGTERM. See template-render.ts.
 */
import { TextgenError } from '../errors.js';
import { renderChatTemplate, type ChatTemplateInput } from './chat-template.js';

/** A render request from the main thread. */
export interface RenderRequest {
  id: number;
  template: string;
  input: Omit<ChatTemplateInput, 'now'> & { now?: number };
  maxChars: number;
}

/** The answer: the text, or the error as name, message, hint and exit code. */
export type RenderReply =
  | { id: number; text: string }
  | { id: number; error: { name: string; message: string; hint?: string; exitCode?: number } };

const send = (message: unknown) => process.send?.(message);

// Ctrl-C in a terminal reaches the whole process group: the parent decides what stops, and this
// process ends with its parent (the IPC channel closes).
process.on('SIGINT', () => undefined);
process.on('disconnect', () => process.exit(0));

// Says it is ready, so the parent's render budget counts rendering only, not this process's start.
send({ ready: true });

process.on('message', (request: RenderRequest) => {
  let reply: RenderReply;
  try {
    const { now, ...input } = request.input;
    const text = renderChatTemplate(request.template, {
      ...input,
      now: now === undefined ? undefined : new Date(now),
    });
    if (text.length > request.maxChars)
      throw new Error(
        `it rendered ${text.length} characters, over the limit of ${request.maxChars}`,
      );
    reply = { id: request.id, text };
  } catch (error) {
    const e = error as Error;
    reply = {
      id: request.id,
      error: {
        name: e.name,
        message: e.message,
        ...(e instanceof TextgenError ? { hint: e.hint, exitCode: e.exitCode } : {}),
      },
    };
  }
  send(reply);
});
