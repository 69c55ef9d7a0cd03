/**
 * Scriptable chat: with stdin not a terminal, each input line is a user turn and each reply is
 * printed to stdout followed by a newline. Same prompt building, KV reuse and context handling as
 * the TUI; notices (dropped turns) go to stderr.
 */
import { createInterface } from 'node:readline';
import { AbortedError } from '../generation/errors.js';
import type { GenerationSettings } from '../generation/settings.js';
import type { Conversation } from '../generation/chat/conversation.js';
import { prepareTurn, type ChatEngine } from '../generation/chat/chat-turn.js';
import type { CommandContext } from './command.js';

/** Runs the piped chat until stdin ends; returns the final conversation. */
export async function runPipedChat(
  ctx: CommandContext,
  engine: ChatEngine,
  start: Conversation,
  settings: GenerationSettings,
  onTurn?: (c: Conversation) => Promise<void>,
): Promise<Conversation> {
  let conversation = start;
  const lines = createInterface({ input: ctx.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const turn = await prepareTurn(
      engine,
      { ...conversation, messages: [...conversation.messages, { role: 'user', content: line }] },
      settings,
      ctx.signal,
    );
    if (turn.droppedTurns > 0)
      ctx.stderr.write(
        `textgen: context full: dropped the ${turn.droppedTurns} oldest turn(s) (the system prompt is kept)\n`,
      );
    let reply = '';
    let aborted = false;
    for await (const event of engine.generate(turn.request)) {
      if (event.type === 'token' && event.sequence === 0 && event.text)
        ctx.stdout.write(event.text);
      if (event.type === 'notice') ctx.stderr.write(`textgen: warning: ${event.message}\n`);
      if (event.type === 'done') {
        reply = event.sequences[0]?.text ?? '';
        aborted = event.reason === 'aborted';
      }
    }
    ctx.stdout.write('\n');
    conversation = {
      ...turn.conversation,
      messages: [...turn.conversation.messages, { role: 'assistant', content: reply }],
    };
    await onTurn?.(conversation);
    if (aborted) throw new AbortedError();
  }
  return conversation;
}
