import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  fileSessionStore,
  latestSessionPath,
  newSessionName,
  parseSession,
  readSession,
  sessionPath,
  sessionsDir,
  writeSession,
} from '../../commands/chat-sessions.js';
import { InputError } from '../../generation/errors.js';

test('sessionsDir: TEXTGEN_DATA_DIR, then XDG_DATA_HOME, then ~/.local/share', () => {
  assert.equal(sessionsDir({ TEXTGEN_DATA_DIR: '/d', XDG_DATA_HOME: '/x' }), '/d/sessions');
  assert.equal(sessionsDir({ XDG_DATA_HOME: '/x' }), '/x/textgen/sessions');
  assert.equal(sessionsDir({}), join(homedir(), '.local', 'share', 'textgen', 'sessions'));
});

test('sessionPath: a bare name goes to the sessions folder, paths stay paths', () => {
  const env = { TEXTGEN_DATA_DIR: '/d' };
  assert.equal(sessionPath('work', env), '/d/sessions/work.json');
  assert.equal(sessionPath('./a/b.json', env), resolve('a/b.json'));
  assert.equal(sessionPath('out.json', env), resolve('out.json'));
});

test('newSessionName is sortable by time', () => {
  assert.equal(newSessionName(new Date(2026, 10, 25, 9, 5, 7)), 'chat-20261125-090507');
});

test('write, read and store round trip; latestSessionPath picks the newest file', async () => {
  const root = mkdtempSync(join(tmpdir(), 'textgen-sessions-'));
  try {
    const env = { TEXTGEN_DATA_DIR: root };
    const data = {
      version: 1 as const,
      model: 'local/x',
      system: 'S',
      messages: [
        { role: 'user' as const, content: 'hi' },
        { role: 'assistant' as const, content: 'yo' },
      ],
      settings: { temperature: 0 },
    };
    const store = fileSessionStore(sessionPath('auto', env), env);
    await store.autosave(data);
    const savedTo = await store.save('copy', data);
    assert.equal(savedTo, join(root, 'sessions', 'copy.json'));
    const loaded = await store.load('copy');
    assert.deepEqual({ ...loaded, savedAt: undefined }, { ...data, savedAt: undefined });
    assert.match(loaded.savedAt!, /^\d{4}-\d\d-\d\dT/);
    utimesSync(join(root, 'sessions', 'auto.json'), new Date(2030, 0, 1), new Date(2030, 0, 1));
    assert.equal(await latestSessionPath(env), join(root, 'sessions', 'auto.json'));
    assert.equal(await latestSessionPath({ TEXTGEN_DATA_DIR: join(root, 'none') }), undefined);
    await writeSession(join(root, 'nested', 'deep.json'), data);
    assert.equal(
      JSON.parse(readFileSync(join(root, 'nested', 'deep.json'), 'utf8')).model,
      'local/x',
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('parseSession and readSession reject what is not a session with an InputError', async () => {
  const bad = [
    'not json',
    '{"version":2,"messages":[]}',
    '{"version":1,"messages":[{"role":"tool","content":"x"}]}',
    '{"version":1}',
  ];
  for (const text of bad) assert.throws(() => parseSession(text, 'f.json'), InputError, text);
  assert.deepEqual(parseSession('{"version":1,"messages":[]}', 'f.json'), {
    version: 1,
    model: undefined,
    system: undefined,
    messages: [],
    settings: {},
    savedAt: undefined,
  });
  const root = mkdtempSync(join(tmpdir(), 'textgen-sessions-'));
  try {
    await assert.rejects(readSession(join(root, 'missing.json')), /No session at/);
    mkdirSync(join(root, 's'));
    writeFileSync(join(root, 's', 'x.json'), '{');
    await assert.rejects(readSession(join(root, 's', 'x.json')), /not valid JSON/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
