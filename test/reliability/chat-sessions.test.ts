// Issue 16 item 4 (chat history destroyed on disk) and item 6 (bad types in session files), with
// variations: long histories survive a resume and a full context byte for byte, the fit is derived
// and never written back, a second writer of one session is refused, damaged files are one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  assertBuilt,
  bin,
  defaultModelSandbox,
  repoRoot,
  textgen,
  type ChatSandbox,
} from '../commands/chat-fixtures.js';
import {
  headerRecord,
  parseSessionText,
  recordsText,
  type SessionRecord,
} from '../../generation/chat/session-log.js';

async function withBox(fn: (box: ChatSandbox, dir: string) => Promise<void>): Promise<void> {
  assertBuilt();
  const box = defaultModelSandbox();
  const dir = join(box.env.TEXTGEN_DATA_DIR, 'sessions');
  mkdirSync(dir, { recursive: true });
  try {
    await fn(box, dir);
  } finally {
    box.cleanup();
  }
}

/** A session of `turns` exchanges (far more than the 512-token context holds). */
function history(turns: number): SessionRecord[] {
  const records: SessionRecord[] = [headerRecord(), { type: 'model', model: 'local/tiny' }];
  for (let i = 0; i < turns; i++)
    records.push(
      { type: 'message', role: 'user', content: `Question ${i} about the little red ball?` },
      { type: 'message', role: 'assistant', content: ` The ball ${i} rolled away.` },
    );
  return records;
}

for (const turns of [100, 300]) {
  test(`resuming a ${turns}-turn session and sending one line keeps every turn in the file`, () =>
    withBox(async (box, dir) => {
      const path = join(dir, 'big.jsonl');
      const before = recordsText(history(turns));
      writeFileSync(path, before);
      const run = await textgen(
        ['chat', '--session', 'big', '--temperature', '0', '-n', '8'],
        box.env,
        'hi\n',
      );
      assert.equal(run.exitCode, 0, run.stderr);
      // The model saw only what fits: the notice says so once; the file lost nothing.
      assert.match(run.stderr, /Context full: dropped the \d+ oldest turns from the model's view/);
      const after = readFileSync(path, 'utf8');
      assert.ok(after.startsWith(before), 'the session file was rewritten');
      const state = parseSessionText(after, path).state;
      assert.equal(state.messages.length, turns * 2 + 2);
      assert.deepEqual(state.messages.at(-2), { role: 'user', content: 'hi' });
    }));
}

test('a second chat on the same session is refused with a clear error; the first keeps all its turns', () =>
  withBox(async (box, dir) => {
    const first = execa(
      'node',
      [bin, 'chat', '-m', 'local/tiny', '--session', 'shared', '--temperature', '0', '-n', '6'],
      { cwd: repoRoot, env: box.env, extendEnv: false, reject: false },
    );
    first.stdin!.write('Once upon a time\n');
    // The first reply on stdout means the first chat holds the session.
    await new Promise<void>((resolve) =>
      first.stdout!.on('data', (chunk: Buffer) => chunk.includes('\n') && resolve()),
    );
    const second = await textgen(
      ['chat', '-m', 'local/tiny', '--session', 'shared', '-n', '6'],
      box.env,
      'The dog\n',
    );
    assert.equal(second.exitCode, 1);
    assert.match(
      second.stderr,
      /^textgen: error: Session shared is open in another textgen chat \(pid \d+\)\.\n {2}hint: /,
    );
    first.stdin!.end('The cat\n');
    const done = await first;
    assert.equal(done.exitCode, 0, String(done.stderr));
    const path = join(dir, 'shared.jsonl');
    const state = parseSessionText(readFileSync(path, 'utf8'), path).state;
    assert.deepEqual(
      state.messages.filter((m) => m.role === 'user').map((m) => m.content),
      ['Once upon a time', 'The cat'],
    );
    // Released at exit: the session opens again.
    const later = await textgen(['chat', '--session', 'shared', '-n', '2'], box.env, 'More\n');
    assert.equal(later.exitCode, 0, later.stderr);
  }));

test('bad types in a session file are one line naming the file, the line and the key (exit 7), and the file is untouched', () =>
  withBox(async (box, dir) => {
    const header = JSON.stringify(headerRecord());
    const cases: Array<[string, RegExp]> = [
      [
        `${header}\n{"type":"settings","settings":{"num_beams":1000000000}}\n`,
        /line 2: settings: num-beams must be an integer in 1\.\.256/,
      ],
      [
        `${header}\n{"type":"settings","settings":{"stop":7}}\n`,
        /line 2: settings: stop must be a non-empty string or a list of them, got 7/,
      ],
      [
        `${header}\n{"type":"message","role":"user","content":["x"]}\n`,
        /line 2: content must be a string/,
      ],
      [
        '{"version":1,"messages":[{"role":"user","content":1}]}',
        /messages\[0\]: content must be a string/,
      ],
      [
        '{"version":1,"messages":[],"settings":{"top_p":"high"}}',
        /settings: top-p must be a number in \(0, 1\], got "high"/,
      ],
    ];
    for (const [text, message] of cases) {
      const path = join(dir, 'bad.jsonl');
      writeFileSync(path, text);
      const run = await textgen(['chat', '--session', path, '-n', '2'], box.env, 'hi\n');
      assert.equal(run.exitCode, 7, text);
      const lines = run.stderr.trimEnd().split('\n');
      assert.match(lines[0], /^textgen: error: session file /);
      assert.match(lines[0], message);
      assert.ok(
        lines.length <= 2 && (lines.length === 1 || lines[1].startsWith('  hint: ')),
        "expected lines.length <= 2 && (lines.length === 1 || lines[1].startsWith(' hint: '))",
      );
      assert.equal(readFileSync(path, 'utf8'), text);
    }
  }));

test('a session started with the built-in model resumes with it (no --model either time)', () =>
  withBox(async (box, dir) => {
    const first = await textgen(['chat', '--session', 'builtin', '-n', '2'], box.env, 'Hello\n');
    assert.equal(first.exitCode, 0, first.stderr);
    const path = join(dir, 'builtin.jsonl');
    const saved = readFileSync(path, 'utf8');
    assert.equal(parseSessionText(saved, path).state.model, 'default');
    const again = await textgen(['chat', '--session', 'builtin', '-n', '2'], box.env, 'Again\n');
    assert.equal(again.exitCode, 0, again.stderr);
    const after = readFileSync(path, 'utf8');
    assert.ok(after.startsWith(saved), 'the session file was rewritten');
    assert.deepEqual(
      parseSessionText(after, path)
        .state.messages.filter((m) => m.role === 'user')
        .map((m) => m.content),
      ['Hello', 'Again'],
    );
  }));
