// Test helper: runs a command in a real pseudo-terminal (a private tmux server) of a chosen size, so
// terminal-only behaviour (prompts, width, colours, the TUI) is tested as a user sees it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { BIN, repoRoot } from './harness.js';

const TMUX = '/usr/bin/tmux';

/** Why terminal tests are skipped on this machine, or false. */
export const ttySkip = existsSync(TMUX) ? false : 'tmux is not installed at /usr/bin/tmux';

let sessions = 0;

/** One command running in its own tmux server. */
export interface Terminal {
  /** The pane as plain text (scrollback included, wrapped lines joined unless `raw`). */
  capture(options?: { escapes?: boolean; joined?: boolean }): Promise<string>;
  /** Sends literal text. */
  type(text: string): Promise<void>;
  /** Sends tmux key names (Enter, C-c, ...). */
  keys(...names: string[]): Promise<void>;
  /** Polls the pane until `pattern` shows (the pane is the only observable of a terminal program). */
  until(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Waits for the command to end and returns its exit code. */
  exitCode(timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

/** Starts `textgen ...args` in a `width` × `height` terminal with `env` (CI unset: Ink needs it). */
export async function startInTerminal(
  args: string[],
  env: Record<string, string>,
  size: { width?: number; height?: number } = {},
): Promise<Terminal> {
  const socket = `textgen-rel-${process.pid}-${sessions++}`;
  const tmux = (...a: string[]) => execa(TMUX, ['-L', socket, ...a], { reject: false });
  const vars = Object.entries(env)
    .map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const command = `cd '${repoRoot}' && env -i ${vars} TERM=xterm-256color node '${BIN}' ${quoted}; echo "EXIT=$?"; sleep 600`;
  const started = await execa(
    TMUX,
    [
      '-L',
      socket,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'main',
      '-x',
      String(size.width ?? 100),
      '-y',
      String(size.height ?? 40),
      command,
    ],
    { reject: false },
  );
  assert.equal(started.exitCode, 0, started.stderr);
  const capture: Terminal['capture'] = async (o = {}) =>
    (
      await tmux(
        'capture-pane',
        '-p',
        ...(o.joined === false ? [] : ['-J']),
        ...(o.escapes ? ['-e'] : []),
        '-S',
        '-',
        '-t',
        'main',
      )
    ).stdout;
  const until: Terminal['until'] = async (pattern, timeoutMs = 30_000) => {
    const start = Date.now();
    for (;;) {
      const pane = await capture();
      if (pattern.test(pane)) return pane;
      if (Date.now() - start > timeoutMs)
        assert.fail(`timed out waiting for ${pattern}; pane:\n${pane}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    capture,
    until,
    type: async (text) => void (await tmux('send-keys', '-t', 'main', '-l', text)),
    keys: async (...names) => void (await tmux('send-keys', '-t', 'main', ...names)),
    exitCode: async (timeoutMs) => {
      const pane = await until(/EXIT=\d+/, timeoutMs);
      return Number(/EXIT=(\d+)/.exec(pane)![1]);
    },
    close: async () => void (await tmux('kill-server')),
  };
}
