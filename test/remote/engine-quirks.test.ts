// Client mode against mocks of vLLM, llama.cpp's server and ollama: the engine is recognised, settings
// go out under each engine's names (and the ones it ignores are named once), streams with extra
// fields, usage in other places or none, and without [DONE] give the same events, and each engine's
// error bodies become textgen's typed errors (401, unknown model, busy with retry, context overflow).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectEndpoint,
  ExitCode,
  InputError,
  resolveSettings,
  TextgenError,
  type GenerationEvent,
  type SettingsLayer,
  type TextGenerator,
} from '../../generation/index.js';
import { startMockEngine, type EngineKind, type MockEngine } from './mock-engine.js';

let mock: MockEngine | undefined;
afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

async function run(g: TextGenerator, layer: SettingsLayer = {}, extra: object = {}) {
  const events: GenerationEvent[] = [];
  const settings = resolveSettings(layer);
  for await (const e of g.generate({ prompt: 'Hi', settings, ...extra })) events.push(e);
  const done = events.find((e) => e.type === 'done') as Extract<GenerationEvent, { type: 'done' }>;
  const text = events.map((e) => (e.type === 'token' ? e.text : '')).join('');
  const notices = events.flatMap((e) => (e.type === 'notice' ? [e.message] : []));
  return { done, text, notices, events };
}

async function connect(kind: EngineKind, options = {}) {
  mock = await startMockEngine(kind);
  return connectEndpoint(mock.url, options);
}

describe('recognising engines and streaming', () => {
  test('vLLM: max_model_len, token ids, usage in a choice-less last chunk', async () => {
    const g = await connect('vllm');
    assert.equal(g.info.remote?.engine, 'vLLM');
    assert.equal(g.info.remote?.model, 'org/model-7b');
    assert.equal(g.info.contextLength, 2048);
    const r = await run(g, { top_k: 20, min_p: 0.1, typical_p: 0.9, temperature: 0.7, max_new_tokens: 9 }); // prettier-ignore
    assert.equal(r.text, 'Hello there, friend');
    assert.deepEqual(r.done.sequences[0].token_ids, [100, 101, 102, 103]);
    assert.equal(r.done.stats.promptTokens, 7);
    assert.equal(r.done.stats.completionTokens, 4);
    assert.equal(r.done.reason, 'length');
    const body = mock!.requests[0].body;
    assert.equal(body.top_k, 20);
    assert.equal(body.min_p, 0.1);
    assert.equal(body.typical_p, undefined);
    assert.equal(body.max_tokens, 9);
    assert.equal(body.return_token_ids, true);
    assert.deepEqual(r.notices, ['vLLM does not read typical_p: ignored.']);
    // Named once per engine connection, not on every call.
    assert.deepEqual((await run(g, { typical_p: 0.9 })).notices, []);
  });

  test('llama.cpp: /props context, repeat_penalty, usage on the final choice chunk', async () => {
    const g = await connect('llamacpp');
    assert.equal(g.info.remote?.engine, 'llama.cpp');
    assert.equal(g.info.contextLength, 4096);
    const r = await run(g, { repetition_penalty: 1.2, num_return_sequences: 2, do_sample: true }); // prettier-ignore
    assert.equal(r.text, 'Hello there, friend');
    assert.equal(mock!.requests[0].body.repeat_penalty, 1.2);
    assert.equal(mock!.requests[0].body.repetition_penalty, undefined);
    assert.equal(mock!.requests[0].body.n, undefined);
    assert.deepEqual(r.notices, ['llama.cpp does not read num_return_sequences: ignored.']);
    assert.equal(r.done.stats.completionTokens, 4);
    assert.equal(r.done.reason, 'eos');
    assert.deepEqual(await g.tokenize('ab'), [97, 98]);
  });

  test('ollama: no usage, no [DONE], standard fields only, estimated token counts', async () => {
    const g = await connect('ollama');
    assert.equal(g.info.remote?.engine, 'ollama');
    assert.equal(g.info.remote?.model, 'llama3:8b');
    const r = await run(g, { top_k: 40, seed: 3, stop: ['\n'], suppress_tokens: [5] });
    assert.equal(r.text, 'Hello there, friend');
    assert.equal(r.done.stats.promptTokens, 0);
    assert.equal(r.done.stats.completionTokens, 4);
    const body = mock!.requests[0].body;
    assert.equal(body.top_k, undefined);
    assert.equal(body.seed, 3);
    assert.deepEqual(body.stop, ['\n']);
    assert.equal(body.logit_bias, undefined);
    assert.match(r.notices[0], /^ollama does not read suppress_tokens\/logit_bias, top_k: ignored\.$/); // prettier-ignore
    assert.equal((await g.tokenize('abcdefgh')).length, 2);
  });

  test('a chat turn goes to /v1/chat/completions with the messages', async () => {
    const g = await connect('vllm');
    const messages = [{ role: 'user' as const, content: 'Hi' }];
    const r = await run(g, {}, { messages });
    assert.equal(r.text, 'Hello there, friend');
    assert.equal(mock!.requests[0].path, '/v1/chat/completions');
    assert.deepEqual(mock!.requests[0].body.messages, messages);
    assert.equal(g.info.serverTemplate, true);
  });
});

describe('errors', () => {
  const rejectsWith = async (g: TextGenerator, check: (e: TextgenError) => void) => {
    await assert.rejects(run(g), (e: unknown) => {
      assert.ok(e instanceof TextgenError, String(e));
      check(e);
      return true;
    });
  };

  test('vLLM context overflow (its older top-level shape) keeps the numbers', async () => {
    const g = await connect('vllm');
    mock!.errors.push({
      status: 400,
      body: JSON.stringify({ object: 'error', message: "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (2000 in the messages, 100 in the completion). Please reduce the length of the messages or completion.", type: 'BadRequestError', param: null, code: 400 }), // prettier-ignore
    });
    await rejectsWith(g, (e) => {
      assert.ok(e instanceof InputError, 'e instanceof InputError');
      assert.match(e.message, /2100 tokens asked for, the context holds 2048/);
    });
  });

  test('llama.cpp context overflow reads n_prompt_tokens and n_ctx', async () => {
    const g = await connect('llamacpp');
    mock!.errors.push({
      status: 400,
      body: JSON.stringify({ error: { code: 400, message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 5000, n_ctx: 4096 } }), // prettier-ignore
    });
    await rejectsWith(g, (e) => assert.match(e.message, /5000 tokens asked for, the context holds 4096/)); // prettier-ignore
  });

  test('ollama unknown model: exit code 4 naming what it serves', async () => {
    mock = await startMockEngine('ollama');
    await assert.rejects(connectEndpoint(mock.url, { model: 'mistral' }), (e: TextgenError) => {
      assert.equal(e.exitCode, ExitCode.notFound);
      assert.match(e.hint!, /llama3:8b/);
      return true;
    });
    const g = await connectEndpoint(mock.url);
    mock.errors.push({ status: 404, body: JSON.stringify({ error: { message: 'model "llama3:8b" not found, try pulling it first', type: 'api_error', param: null, code: null } }) }); // prettier-ignore
    await rejectsWith(g, (e) => assert.equal(e.exitCode, ExitCode.notFound));
  });

  test('401 is a usage error pointing at --api-key', async () => {
    const g = await connect('vllm');
    mock!.errors.push({ status: 401, body: JSON.stringify({ error: 'Unauthorized' }) });
    await rejectsWith(g, (e) => {
      assert.equal(e.exitCode, ExitCode.usage);
      assert.match(e.hint!, /--api-key/);
    });
  });

  test('busy answers are retried after Retry-After, then reported with the count', async () => {
    const g = await connect('ollama');
    mock!.errors.push({ status: 503, body: JSON.stringify({ error: 'server busy, please try again.  maximum pending requests exceeded' }), headers: { 'Retry-After': '0' } }); // prettier-ignore
    assert.equal((await run(g)).text, 'Hello there, friend');
    mock!.errors.push({ status: 429, body: '{"error":{"message":"Too many requests"}}', headers: { 'Retry-After': '0' }, times: 3 }); // prettier-ignore
    await rejectsWith(g, (e) => {
      assert.equal(e.exitCode, ExitCode.network);
      assert.match(e.message, /busy \(429\); retried 2 times/);
    });
  });

  test('an error event in the middle of a stream is thrown', async () => {
    const g = await connect('vllm');
    mock!.pieces.splice(0, mock!.pieces.length);
    mock!.errors.push({ status: 200, body: 'data: {"error":{"message":"engine died","code":500}}\n\n', headers: { 'Content-Type': 'text/event-stream' } }); // prettier-ignore
    await rejectsWith(g, (e) => assert.match(e.message, /engine died/));
  });

  test('an endpoint that is not there is a network error', async () => {
    mock = await startMockEngine('vllm');
    const url = mock.url;
    await mock.close();
    mock = undefined;
    await assert.rejects(connectEndpoint(url), (e: TextgenError) => e.exitCode === ExitCode.network); // prettier-ignore
  });
});
