// Client mode against `textgen serve` itself: a remote TextGenerator gives what the local model gives
// (greedy ids and text, a chat turn rendered by the server's template, token counts), stops the
// server's row when aborted, needs the server's API key, and names the settings it cannot send.
import assert from 'node:assert/strict';
import {
  connectEndpoint,
  ExitCode,
  loadModel,
  resolveSettings,
  type GenerationEvent,
  type TextGenerator,
} from '../../generation/index.js';
import { prepareTurn } from '../../generation/chat/chat-turn.js';
import { generateAll, type TempFolder } from '../generation/fixtures.js';
import { metric, nextRequest, serve, STORIES, storiesWithChatTemplate, type TestServer } from '../server/helpers.js'; // prettier-ignore
// Every test here serves the fixture model: skipped, with the reason, when it is missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';

const KEY = 'sk-remote-test';
let chatFolder: TempFolder;
let t: TestServer;
let remote: TextGenerator;
let local: TextGenerator;

before(async () => {
  chatFolder = storiesWithChatTemplate();
  t = await serve({ stories: STORIES, 'stories-chat': chatFolder.dir }, { apiKey: KEY });
  remote = await connectEndpoint(t.url, { apiKey: KEY });
  local = await loadModel(STORIES, { inProcess: true, threads: 1 });
});
after(async () => {
  await remote?.dispose();
  await local?.dispose();
  await t?.server.close();
  chatFolder?.cleanup();
});

const long = { max_new_tokens: 40, suppress_tokens: [1, 2] };

test('the remote engine is textgen serving the first model', () => {
  assert.deepEqual(remote.info.remote, {
    engine: 'textgen',
    host: new URL(t.url).host,
    model: 'stories',
  });
  assert.equal(remote.info.contextLength, 512);
});

test('greedy ids and text equal the local model', async () => {
  const prompt = 'Once upon a time';
  const a = await generateAll(remote, prompt, long);
  const b = await generateAll(local, prompt, long);
  assert.deepEqual(a.ids[0], b.ids[0]);
  assert.equal(a.done.sequences[0].text, b.done.sequences[0].text);
  assert.equal(a.deltas[0].join(''), b.deltas[0].join(''));
  assert.equal(a.done.stats.promptTokens, b.done.stats.promptTokens);
  assert.equal(a.done.stats.completionTokens, 40);
  assert.deepEqual(await remote.tokenize(prompt), await local.tokenize(prompt));
});

test('a chat turn is rendered by the server with the model template', async () => {
  const chat = await connectEndpoint(t.url, { apiKey: KEY, model: 'stories-chat' });
  const withTemplate = await loadModel(chatFolder.dir, { inProcess: true, threads: 1 });
  try {
    const conversation = { system: 'Be brief.', messages: [{ role: 'user' as const, content: 'A story' }] }; // prettier-ignore
    const settings = resolveSettings({ temperature: 0, ...long });
    const here = await prepareTurn(withTemplate, conversation, 0, settings);
    const there = await prepareTurn(chat, conversation, 0, settings);
    assert.ok(there.request.messages, 'the remote request carries messages');
    const text = async (g: TextGenerator, request: typeof here.request) => {
      let out = '';
      for await (const e of g.generate(request)) if (e.type === 'token') out += e.text;
      return out;
    };
    assert.equal(await text(chat, there.request), await text(withTemplate, here.request));
  } finally {
    await chat.dispose();
    await withTemplate.dispose();
  }
});

test('aborting stops the server row', async () => {
  const controller = new AbortController();
  const settings = resolveSettings({ temperature: 0, max_new_tokens: 400, suppress_tokens: [1, 2] }); // prettier-ignore
  const ended = nextRequest(t.server, (r) => r.path === '/v1/completions');
  let tokens = 0;
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  for await (const e of remote.generate({ prompt: 'Once', settings, signal: controller.signal })) {
    if (e.type === 'token' && ++tokens === 3) controller.abort();
    if (e.type === 'done') done = e;
  }
  assert.equal(done?.reason, 'aborted');
  assert.equal((await ended).reason, 'aborted');
  const auth = { Authorization: `Bearer ${KEY}` };
  assert.equal(await metric(t.url, 'textgen:num_requests_running', '', auth), 0);
});

test('settings textgen serve cannot take over HTTP are named once', async () => {
  const settings = resolveSettings({ num_beams: 2, do_sample: false, max_new_tokens: 3 });
  const notices: string[] = [];
  for (let i = 0; i < 2; i++)
    for await (const e of remote.generate({ prompt: 'Sam', settings }))
      if (e.type === 'notice') notices.push(e.message);
  assert.deepEqual(notices, ['textgen does not read num_beams: ignored.']);
});

test('the API key is required', async () => {
  await assert.rejects(connectEndpoint(t.url), (e: { exitCode: number; hint: string }) => {
    assert.equal(e.exitCode, ExitCode.usage);
    assert.match(e.hint, /--api-key/);
    return true;
  });
});
