// The server's security defaults and limits: loopback bind (and the refusal to bind elsewhere without
// an API key), the API key, CORS only when asked, DNS-rebinding Host checks, JSON-only bodies of at
// most 1 MiB, caps on max_tokens / n / stop / logprobs, model names that are never paths, the bounded
// queue (503 + Retry-After), and cancel-on-disconnect for running and queued requests.
import { after, before, describe, test } from 'node:test';
import { sharedDescribe } from '../shared-fixtures.js';
import assert from 'node:assert/strict';
import { sameSecret } from '../../server/guard.js';
import { startServer } from '../../server/index.js';
import {
  metric,
  nextRequest,
  post,
  raw,
  serve,
  STORIES,
  untilMetric,
  type TestServer,
  type ErrorBody,
} from './helpers.js';

const NO_END = { '1': -100, '2': -100 };
const KEY = 'sk-test-0123456789';
const auth = { Authorization: `Bearer ${KEY}` };

describe('binding', () => {
  test('a non-loopback address without an API key is refused', async () => {
    await assert.rejects(
      startServer({ host: '0.0.0.0', port: 0, models: { served: [], maxQueue: 1 } }),
      /without an API key/,
    );
  });

  test('the default bind is 127.0.0.1, without CORS headers', async () => {
    const s = await startServer({ port: 0, models: { served: [], maxQueue: 1 } });
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      // No CORS headers unless --cors-origin asked for them.
      const res = await fetch(`${s.url}/health`, { headers: { Origin: 'https://app.example' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    } finally {
      await s.close();
    }
  });
});

// The guard and load tests serve the fixture model: skipped, with the reason, without it.
sharedDescribe('guard', () => {
  let t: TestServer;
  before(async () => {
    t = await serve({ stories: STORIES }, { apiKey: KEY, corsOrigin: 'https://app.example' });
  });
  after(() => t?.server.close());

  test('the API key is required, except for /health', async () => {
    assert.equal((await fetch(`${t.url}/v1/models`)).status, 401);
    assert.equal(
      (await fetch(`${t.url}/v1/models`, { headers: { Authorization: 'Bearer sk-wrong' } })).status,
      401,
    );
    assert.equal(
      (await fetch(`${t.url}/v1/models`, { headers: { Authorization: `Bearer ${KEY}x` } })).status,
      401,
    );
    assert.equal((await fetch(`${t.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${t.url}/v1/models`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
    const body = (await (
      await post(t.url, '/v1/completions', { model: 'stories', prompt: 'x' })
    ).json()) as ErrorBody;
    assert.equal(body.error.code, 'invalid_api_key');
  });

  test('keys are compared by digest, so any length is compared safely', () => {
    assert.equal(sameSecret(KEY, KEY), true);
    assert.equal(sameSecret('', KEY), false);
    assert.equal(sameSecret(KEY.repeat(50), KEY), false);
  });

  test('a Host header that is not the loopback is refused (DNS rebinding)', async () => {
    const port = new URL(t.url).port;
    const evil = await raw(t.url, { path: '/health', headers: { Host: `evil.example:${port}` } });
    assert.equal(evil.status, 403);
    assert.equal(JSON.parse(evil.body).error.code, 'forbidden_host');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'localhost'])
      assert.equal((await raw(t.url, { path: '/health', headers: { Host: host } })).status, 200);
  });

  test('CORS headers go only to the configured origin', async () => {
    const ok = await fetch(`${t.url}/health`, { headers: { Origin: 'https://app.example' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
    const other = await fetch(`${t.url}/health`, { headers: { Origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const preflight = await raw(t.url, {
      method: 'OPTIONS',
      path: '/v1/chat/completions',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
  });

  test('only application/json bodies of at most 1 MiB', async () => {
    const send = (body: string | Buffer, type?: string) =>
      raw(t.url, {
        method: 'POST',
        path: '/v1/completions',
        headers: { ...auth, ...(type ? { 'Content-Type': type } : {}) },
        body,
      });
    const json = JSON.stringify({ model: 'stories', prompt: 'x', max_tokens: 1 });
    assert.equal((await send(json, 'text/plain')).status, 415);
    assert.equal((await send(json)).status, 415);
    assert.equal((await send(json, 'application/json; charset=utf-8')).status, 200);
    const big = JSON.stringify({ model: 'stories', prompt: 'x'.repeat(1024 * 1024) });
    const tooBig = await send(big, 'application/json');
    assert.equal(tooBig.status, 413);
    assert.equal(JSON.parse(tooBig.body).error.code, 'body_too_large');
  });

  test('caps on max_tokens, n, stop, logprobs and top_logprobs', async () => {
    const bad = async (body: object, param: string, path = '/v1/completions') => {
      const res = await post(t.url, path, { model: 'stories', prompt: 'x', ...body }, auth);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as ErrorBody).error.param, param);
    };
    await bad({ max_tokens: 4097 }, 'max_tokens');
    await bad({ n: 9, temperature: 1 }, 'n');
    await bad({ prompt: ['a', 'b', 'c'], n: 3, temperature: 1 }, 'n');
    await bad({ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop');
    await bad({ stop: ['x'.repeat(257)] }, 'stop');
    await bad({ logprobs: 21 }, 'logprobs');
    await bad({ logit_bias: { '5': 101 } }, 'logit_bias');
    await bad(
      { messages: [{ role: 'user', content: 'x' }], logprobs: true, top_logprobs: 21 },
      'top_logprobs',
      '/v1/chat/completions',
    );
  });

  test('model names are looked up by name, never as paths', async () => {
    for (const model of [STORIES, '../stories260K-onnx', '/etc/passwd', 'stories/../stories']) {
      const res = await post(t.url, '/v1/completions', { model, prompt: 'x' }, auth);
      assert.equal(res.status, 404, model);
      assert.equal(((await res.json()) as ErrorBody).error.code, 'model_not_found');
    }
  });
});

sharedDescribe('load and disconnects', () => {
  let t: TestServer;
  before(async () => {
    t = await serve({ stories: STORIES }, { parallel: 1, maxQueue: 1 });
  });
  after(() => t?.server.close());

  /** A long streaming request; resolves with its reader once its first token arrived. */
  async function running(signal: AbortSignal) {
    const res = await fetch(`${t.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'stories',
        prompt: 'Once',
        max_tokens: 450,
        temperature: 0,
        logit_bias: NO_END,
        stream: true,
      }),
      signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    return reader;
  }

  test('a client that disconnects frees its row: running drops to 0', async () => {
    const controller = new AbortController();
    await running(controller.signal);
    assert.equal(await metric(t.url, 'textgen:num_requests_running'), 1);
    const ended = nextRequest(t.server, (r) => r.path === '/v1/completions');
    controller.abort();
    const log = await ended;
    assert.equal(log.reason, 'aborted');
    assert.equal(await metric(t.url, 'textgen:num_requests_running'), 0);
    assert.equal(await metric(t.url, 'textgen:num_batch_rows'), 0);
    assert.equal(await metric(t.url, 'textgen:request_aborted_total'), 1);
  });

  test('a non-streaming request whose client leaves is stopped too', async () => {
    const controller = new AbortController();
    const pending = fetch(`${t.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'stories',
        prompt: 'Once',
        max_tokens: 450,
        temperature: 0,
        logit_bias: NO_END,
      }),
      signal: controller.signal,
    }).catch((e: Error) => e);
    await untilMetric(t.url, 'textgen:num_requests_running', 1);
    const ended = nextRequest(t.server, (r) => r.path === '/v1/completions');
    controller.abort();
    assert.equal(((await pending) as Error).name, 'AbortError');
    const log = await ended;
    assert.equal(log.reason, 'aborted');
    assert.equal(log.status, 499);
    assert.equal(await metric(t.url, 'textgen:num_requests_running'), 0);
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
  });

  test('a full queue answers 503 with Retry-After; a queued request that disconnects leaves', async () => {
    const first = new AbortController();
    const queued = new AbortController();
    await running(first.signal);
    const waiting = fetch(`${t.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'stories', prompt: 'Sam', max_tokens: 5 }),
      signal: queued.signal,
    }).catch((e: Error) => e);
    await untilMetric(t.url, 'textgen:num_requests_waiting', 1);
    const refused = await post(t.url, '/v1/completions', { model: 'stories', prompt: 'x' });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(((await refused.json()) as ErrorBody).error.code, 'queue_full');
    assert.equal(await metric(t.url, 'textgen:request_rejected_total'), 1);
    const left = nextRequest(
      t.server,
      (r) => r.path === '/v1/completions' && r.reason === 'aborted',
    );
    queued.abort();
    await left;
    await waiting;
    assert.equal(await metric(t.url, 'textgen:num_requests_waiting'), 0);
    assert.equal(await metric(t.url, 'textgen:num_requests_running'), 1);
    const done = nextRequest(t.server, (r) => r.path === '/v1/completions');
    first.abort();
    await done;
    assert.equal(await metric(t.url, 'textgen:num_requests_running'), 0);
  });
});
