/**
 * `textgen chat --list-sessions` and `--rm-session NAME`: the saved sessions as a table on stdout
 * (newest first), and deleting one (refused while a chat has it open).
 */
import { formatDuration } from '../common/format.js';
import { renderTable } from './models-format.js';
import type { CommandContext } from './command.js';
import {
  listSessionFiles,
  readSession,
  removeSession,
  sessionName,
  sessionPath,
  sessionsDir,
} from './chat-sessions.js';

/** Prints NAME, MESSAGES, UPDATED (age) and MODEL for every saved session. */
export async function listSessions(ctx: CommandContext): Promise<number> {
  const files = await listSessionFiles(ctx.env);
  if (files.length === 0) {
    ctx.stderr.write(`textgen: no saved sessions in ${sessionsDir(ctx.env)}\n`);
    return 0;
  }
  const rows = [['NAME', 'MESSAGES', 'UPDATED', 'MODEL']];
  for (const f of files) {
    const age = `${formatDuration((Date.now() - f.mtime.getTime()) / 1000)} ago`;
    try {
      const { state } = await readSession(f.path);
      rows.push([sessionName(f.path), String(state.messages.length), age, state.model ?? '-']);
    } catch (error) {
      rows.push([sessionName(f.path), '?', age, `(unreadable: ${(error as Error).message})`]);
    }
  }
  ctx.stdout.write(renderTable(rows));
  return 0;
}

/** Deletes the session NAME (or the file at a path). */
export async function removeSessionCommand(ctx: CommandContext, name: string): Promise<number> {
  const path = sessionPath(name, ctx.env);
  await removeSession(path);
  ctx.stderr.write(`textgen: removed session ${sessionName(path)}\n`);
  return 0;
}
