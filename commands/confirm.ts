/**
 * The one yes/no question a command asks before it destroys something (removing a cached model,
 * replacing a trained one): asked on stderr, so stdout keeps only requested data.
 */
import { createInterface } from 'node:readline/promises';
import type { CommandContext } from './command.js';

/** Asks `question [y/N]` on the terminal; true only for an explicit yes. Ctrl-C aborts it. */
export async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.stdin, output: ctx.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: ctx.signal });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
