// The chat TUI end to end: the built binary in a real pseudo-terminal (a private tmux server), against
// the real stories260K model. Pick a model, stream a reply, stop it with Ctrl-C, chat on, /set,
// /regen (twice at temperature 0: the same text), /exit.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertBuilt, bin, chatSandbox, repoRoot, type ChatSandbox } from './chat-fixtures.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';
import { parseSessionText } from '../../generation/chat/session-log.js';

const TMUX = '/usr/bin/tmux';
const socket = `textgen-chat-${process.pid}`;
let box: ChatSandbox;

const tmux = (...args: string[]) => execa(TMUX, ['-L', socket, ...args], { reject: false });
/** The whole pane including scrollback, wrapped lines joined. */
const capture = async () => (await tmux('capture-pane', '-p', '-J', '-S', '-')).stdout;
const keys = (...k: string[]) => tmux('send-keys', '-t', 'chat', ...k);
const text = (s: string) => tmux('send-keys', '-t', 'chat', '-l', s);

async function until(pattern: RegExp, timeoutMs = 20_000, not?: RegExp): Promise<string> {
  const start = Date.now();
  for (;;) {
    const pane = await capture();
    if (pattern.test(pane) && !(not && not.test(pane))) return pane;
    if (Date.now() - start > timeoutMs)
      assert.fail(`timed out waiting for ${pattern}; pane:\n${pane}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

async function submit(line: string) {
  await text(line);
  await keys('Enter');
}

/** The status line (last line starting with the model id) of a pane. */
const statusOf = (pane: string) =>
  pane
    .split('\n')
    .filter((l) => l.startsWith('local/stories-chat · '))
    .at(-1) ?? '';

const skip = existsSync(TMUX) ? false : 'tmux is not installed at /usr/bin/tmux';

before(async () => {
  if (skip) return;
  assertBuilt();
  box = chatSandbox();
  // Ink renders nothing interactive when CI is set (is-in-ci), and CI runs this suite with CI=true.
  const env = Object.entries(box.env)
    .map(([k, v]) => `${k}='${v}'`)
    .join(' ');
  const command = `cd '${repoRoot}' && env -u CI -u CONTINUOUS_INTEGRATION ${env} node '${bin}' chat; echo "EXIT=$?"; sleep 600`;
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
      'chat',
      '-x',
      '110',
      '-y',
      '45',
      command,
    ],
    { reject: false },
  );
  assert.equal(started.exitCode, 0, started.stderr);
});

after(async () => {
  await tmux('kill-server');
  box?.cleanup();
});

test(
  'chat TUI in a pseudo-terminal: pick, stream, Ctrl-C, chat on, /set, /regen, /exit',
  { skip },
  async (t) => {
    const picker = await until(/Pick a model[\s\S]*local\/stories-chat/);
    await text('chat');
    await until(/Filter: chat/, 5000, /› local\/stories {2}/);
    await keys('Enter');
    await until(/Loaded local\/stories-chat\. Type \/help for commands\./);
    // The pick is saved in the background (the config writer loads lazily), so allow it a moment.
    const configFile = join(box.env.TEXTGEN_CONFIG_DIR, 'config.json');
    for (let i = 0; i < 100 && !existsSync(configFile); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(JSON.parse(readFileSync(configFile, 'utf8')).last_model, 'local/stories-chat');

    // A long reply (EOS suppressed) so there is time to see it stream and to stop it.
    await submit('/set min_new_tokens 300');
    await submit('/set max_new_tokens 300');
    await until(/max-new-tokens = 300/);
    await submit('Tell me a story');
    const streaming = await until(/› Tell me a story\n.+[\s\S]*generating… \(Ctrl-C stops\)/);
    await keys('C-c');
    const stopped = await until(/! Stopped\./, 10_000);
    await t.test('streamed text was on screen before the reply ended', () => {
      assert.match(streaming, /generating…/);
      assert.doesNotMatch(statusOf(stopped), /generating/);
    });

    await submit('/set min_new_tokens 10');
    await submit('/set max_new_tokens 30');
    await submit('Go on');
    const second = await until(
      /› Go on\n[\s\S]*local\/stories-chat · cpu · ctx \d+\/512 \(reused \d+\)/,
      20_000,
      /generating…/,
    );
    await t.test('the second turn reused the KV cache of the first', () => {
      const reused = Number(/\(reused (\d+)\)/.exec(statusOf(second))![1]);
      assert.ok(reused > 10, statusOf(second));
      assert.match(statusOf(second), /TTFT \d+ ms · [\d.]+ tok\/s/);
    });

    // Tab completes the setting name in the real terminal too.
    await text('/set temp');
    await keys('Tab');
    await until(/› \/set temperature/);
    await submit('0');
    await until(/temperature = 0\n/);
    // The regenerate notice and the busy status render in the same frame, so "notice shown and not
    // generating" means that regeneration has finished.
    await submit('/regen');
    await until(
      /↻ Regenerating the last reply\.[\s\S]*\nlocal\/stories-chat · cpu/,
      20_000,
      /generating…/,
    );
    await submit('/regen');
    const final = await until(
      /(↻ Regenerating the last reply\.[\s\S]*){2}\nlocal\/stories-chat · cpu/,
      20_000,
      /generating…/,
    );
    await t.test('two regenerations at temperature 0 give the same reply', () => {
      const parts = final.split('↻ Regenerating the last reply.');
      const first = parts[1].split('› /regen')[0].trim();
      const second = parts[2].split('\nlocal/stories-chat · ')[0].trim();
      assert.ok(first.length > 0, 'first.length > 0');
      assert.equal(second, first);
    });

    await submit('/exit');
    const exited = await until(/EXIT=0/);
    assert.match(exited, /session saved as chat-\d{8}-\d{6}/);
    const [file] = readdirSync(join(box.env.TEXTGEN_DATA_DIR, 'sessions'));
    const path = join(box.env.TEXTGEN_DATA_DIR, 'sessions', file);
    const saved = parseSessionText(readFileSync(path, 'utf8'), path).state;
    assert.deepEqual(
      saved.messages.filter((m) => m.role === 'user').map((m) => m.content),
      ['Tell me a story', 'Go on'],
    );
    assert.deepEqual(saved.settings, { min_new_tokens: 10, max_new_tokens: 30, temperature: 0 });
    if (process.env.TEXTGEN_TUI_CAPTURE)
      process.stdout.write(
        `\n--- picker ---\n${picker.trimEnd()}\n--- chat ---\n${final.trimEnd()}\n---\n`,
      );
  },
);
