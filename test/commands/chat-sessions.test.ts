// Session files on disk: paths, the append-only log with its lock, version 1 files read and
// converted on their first append, a torn last line cut, and damaged files as one-line InputErrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  latestSessionPath,
  newSessionName,
  readSession,
  removeSession,
  SessionFile,
  sessionFiles,
  sessionPath,
  sessionsDir,
} from '../../commands/chat-sessions.js';
import { InputError, TextgenError } from '../../generation/errors.js';
import type { SessionState } from '../../generation/chat/session-log.js';

function withRoot(fn: (root: string, env: NodeJS.ProcessEnv) => Promise<void>) {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'textgen-sessions-'));
    try {
      await fn(root, { TEXTGEN_DATA_DIR: root });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

const state: SessionState = {
  model: 'local/x',
  system: 'S',
  messages: [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'yo' },
  ],
  settings: { temperature: 0 },
};

test('sessionsDir: TEXTGEN_DATA_DIR, then XDG_DATA_HOME, then ~/.local/share', () => {
  assert.equal(sessionsDir({ TEXTGEN_DATA_DIR: '/d', XDG_DATA_HOME: '/x' }), '/d/sessions');
  assert.equal(sessionsDir({ XDG_DATA_HOME: '/x' }), '/x/textgen/sessions');
  assert.equal(sessionsDir({}), join(homedir(), '.local', 'share', 'textgen', 'sessions'));
});

test('sessionPath: a bare name goes to the sessions folder, paths stay paths', () => {
  const env = { TEXTGEN_DATA_DIR: '/d' };
  assert.equal(sessionPath('work', env), '/d/sessions/work.jsonl');
  assert.equal(sessionPath('./a/b.json', env), resolve('a/b.json'));
  assert.equal(sessionPath('out.jsonl', env), resolve('out.jsonl'));
});

test('newSessionName is sortable by time', () => {
  assert.equal(newSessionName(new Date(2026, 10, 25, 9, 5, 7)), 'chat-20261125-090507');
});

test(
  'a session file appends records under its lock; a second opener is refused until it closes',
  withRoot(async (root, env) => {
    const path = sessionPath('auto', env);
    const file = await SessionFile.open(path);
    assert.equal(file.existing, undefined);
    await assert.rejects(SessionFile.open(path), (e: unknown) => {
      assert.ok(e instanceof TextgenError, 'expected e instanceof TextgenError');
      assert.match(e.message, /^Session auto is open in another textgen chat \(pid \d+\)\.$/);
      return true;
    });
    await file.append([{ type: 'message', role: 'user', content: 'hi' }]);
    await file.append([{ type: 'message', role: 'assistant', content: 'yo' }, { type: 'retract' }]);
    file.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.equal(JSON.parse(lines[0]).type, 'header');
    const again = await SessionFile.open(path);
    assert.deepEqual(again.existing?.state.messages, [{ role: 'user', content: 'hi' }]);
    again.close();
    utimesSync(path, new Date(2030, 0, 1), new Date(2030, 0, 1));
    writeFileSync(join(root, 'sessions', 'older.jsonl'), readFileSync(path));
    assert.equal(await latestSessionPath(env), path);
    assert.equal(await latestSessionPath({ TEXTGEN_DATA_DIR: join(root, 'none') }), undefined);
  }),
);

test(
  'a version 1 file is read, then rewritten as a log on the first append, keeping every message',
  withRoot(async (root, env) => {
    mkdirSync(join(root, 'sessions'));
    const old = join(root, 'sessions', 'old.json');
    writeFileSync(old, JSON.stringify({ version: 1, ...state }));
    assert.equal(sessionPath('old', env), old);
    const file = await SessionFile.open(old);
    assert.deepEqual(file.existing?.state, state);
    await file.append([{ type: 'message', role: 'user', content: 'more' }]);
    file.close();
    assert.ok(!existsSync(old), 'expected !existsSync(old)');
    const now = await readSession(sessionPath('old', env));
    assert.equal(sessionPath('old', env), join(root, 'sessions', 'old.jsonl'));
    assert.deepEqual(now.state, {
      ...state,
      messages: [...state.messages, { role: 'user', content: 'more' }],
    });
  }),
);

test(
  'a torn last line (a crash mid-append) is ignored on read and cut before the next append',
  withRoot(async (_root, env) => {
    const path = sessionPath('torn', env);
    const file = await SessionFile.open(path);
    await file.append([{ type: 'message', role: 'user', content: 'kept' }]);
    file.close();
    appendFileSync(path, '{"type":"message","role":"assist');
    const reopened = await SessionFile.open(path);
    assert.deepEqual(reopened.existing?.state.messages, [{ role: 'user', content: 'kept' }]);
    await reopened.append([{ type: 'message', role: 'assistant', content: 'after' }]);
    reopened.close();
    assert.deepEqual((await readSession(path)).state.messages, [
      { role: 'user', content: 'kept' },
      { role: 'assistant', content: 'after' },
    ]);
  }),
);

test(
  '/save writes a full log, /load reads it back; --rm-session refuses an open session',
  withRoot(async (root, env) => {
    const files = sessionFiles(undefined, env);
    const savedTo = await files.save('copy', state);
    assert.equal(savedTo, join(root, 'sessions', 'copy.jsonl'));
    assert.deepEqual(await files.load('copy'), state);
    const open = await SessionFile.open(savedTo);
    await assert.rejects(removeSession(savedTo), /open in another textgen chat/);
    open.close();
    await removeSession(savedTo);
    assert.ok(!existsSync(savedTo), 'expected !existsSync(savedTo)');
    await assert.rejects(removeSession(savedTo), /No session at/);
  }),
);

test(
  'damaged session files are InputErrors naming the file, line and problem',
  withRoot(async (root) => {
    const header = '{"type":"header","format":"textgen-chat","version":2,"created":"x"}\n';
    const bad: Array<[string, RegExp]> = [
      ['not json\n', /line 1: not valid JSON/],
      ['{"version":1,"messages":[{"role":"tool","content":"x"}]}', /messages\[0\]: role must be/],
      ['{"version":1}', /messages must be a list/],
      [
        `${header}{"type":"message","role":"user","content":5}\n`,
        /line 2: content must be a string/,
      ],
      [
        `${header}{"type":"settings","settings":{"stop":"x","top_k":"5"}}\n`,
        /line 2: settings: top-k must be/,
      ],
      [
        `${header}{"type":"settings","settings":{"num_beams":1000000000}}\n`,
        /num-beams must be an integer in 1\.\.256/,
      ],
      [`${header}{"type":"dance"}\n`, /line 2: unknown record type "dance"/],
      ['{"type":"message","role":"user","content":"x"}\n', /line 1: not a textgen chat session/],
    ];
    for (const [text, message] of bad) {
      const path = join(root, 'x.jsonl');
      writeFileSync(path, text);
      await assert.rejects(readSession(path), (e: unknown) => {
        assert.ok(e instanceof InputError || e instanceof TextgenError, String(e));
        assert.match((e as Error).message, message);
        assert.ok(
          !(e as Error).message.includes('\n'),
          "expected !(e as Error).message.includes('\\n')",
        );
        return true;
      });
    }
    await assert.rejects(readSession(join(root, 'missing.jsonl')), /No session at/);
  }),
);
