/**
 * Scriptable chat: with stdin not a terminal, each input line is a user turn and each reply is
 * printed to stdout followed by a newline. It renders the same core ChatSession as the TUI (context
 * fitting, KV reuse, autosave); lines starting with `/` are the TUI's slash commands (`//` sends a
 * literal slash), whose output goes to stderr with the notices, so stdout holds only replies.
 */
import { createInterface } from 'node:readline';
import { AbortedError, TextgenError } from '../generation/errors.js';
import type { ChatEvent, ChatSession, SessionEngine } from '../generation/chat/session.js';
import { messageText, parseSlash, runSlash, type SessionFiles } from '../generation/chat/slash.js';
import type { CommandContext } from './command.js';

/** What piped chat needs besides the session. */
export interface PipedChatOptions {
  engine: SessionEngine;
  modelId: string;
  sessions?: SessionFiles;
}

/** Runs the piped chat until stdin ends (or /exit); resolves to the exit code. */
export async function runPipedChat(
  ctx: CommandContext,
  session: ChatSession,
  options: PipedChatOptions,
): Promise<number> {
  let failed = false;
  let stopped = false;
  const say = (text: string) => ctx.stderr.write(`textgen: ${text.replace(/\n/g, '\n  ')}\n`);
  const runTurn = async (turn: (signal: AbortSignal) => AsyncIterable<ChatEvent>) => {
    for await (const event of turn(ctx.signal)) {
      if (event.type === 'token') ctx.stdout.write(event.text);
      else if (event.type === 'reply') {
        ctx.stdout.write('\n');
        if (event.reason === 'aborted') stopped = true;
      } else {
        say(event.type === 'notice' && event.engine ? `warning: ${event.text}` : event.text);
        if (event.type === 'error') failed = true;
      }
    }
  };
  const lines = createInterface({ input: ctx.stdin, crlfDelay: Infinity });
  let exit = false;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const command = parseSlash(line);
    if (!command) await runTurn((signal) => session.send(messageText(line), signal));
    else
      await runSlash(command, {
        session,
        engine: options.engine,
        modelId: options.modelId,
        print: (kind, text) => {
          if (kind === 'error') failed = true;
          say(kind === 'error' ? `error: ${text}` : text);
        },
        runTurn,
        sessions: options.sessions,
        exit: () => (exit = true),
      });
    if (stopped || ctx.signal.aborted) throw new AbortedError();
    if (exit) break;
  }
  lines.close();
  if (failed)
    throw new TextgenError('Some chat commands failed (see the messages above).', {
      hint: 'Piped chat goes on after a failed command or autosave, and exits 1 at the end.',
    });
  return 0;
}
