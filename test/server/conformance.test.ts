// OpenAI conformance of `textgen serve`, through the official openai npm client (6.x) and plain fetch,
// against a server on 127.0.0.1:0 serving stories260K (and a copy with a chat template): completions
// and chat, streamed and not, n, stop, seed, logprobs, exact usage, greedy ids equal to the core's
// own generate() (and the golden ids), concurrent requests equal to sequential ones, SSE framing and
// the error envelope.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { loadModel, renderChatTemplate, type TextGenerator } from '../../generation/index.js';
import { fixture, generateAll, type TempFolder } from '../generation/fixtures.js';
import { storiesGolden, type StoriesGolden } from '../generation/goldens.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';
import {
  metric,
  post,
  serve,
  STORIES,
  storiesWithChatTemplate,
  type ErrorBody,
  type TestServer,
} from './helpers.js';

let golden: StoriesGolden['prompt_once_upon_a_time_greedy_60'];
/** Keeps stories from ending (they end with BOS or EOS), so max_tokens is reached. */
const NO_END = { '1': -100, '2': -100 };

let chatFolder: TempFolder;
let t: TestServer;
let client: OpenAI;
let solo: TextGenerator;

before(async () => {
  golden = storiesGolden().prompt_once_upon_a_time_greedy_60;
  chatFolder = storiesWithChatTemplate();
  t = await serve(
    { stories: STORIES, 'stories-chat': chatFolder.dir, t5: fixture('tiny-random-t5') },
    { parallel: 4 },
  );
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  solo = await loadModel(STORIES, { inProcess: true, threads: 1 });
});
after(async () => {
  await t?.server.close();
  await solo?.dispose();
  chatFolder?.cleanup();
});

/** Completion params with vLLM's return_token_ids (the client forwards unknown keys). */
function withIds<T extends object>(params: T): T {
  const extra = { return_token_ids: true };
  return { ...params, ...extra };
}

function idsOf(choice: object): number[] {
  return (choice as { token_ids: number[] }).token_ids;
}

describe('completions', () => {
  test('greedy ids over HTTP equal the golden ids and the core generate(); usage is exact', async () => {
    const prompt = golden.prompt as string;
    const r = await client.completions.create(
      withIds({
        model: 'stories',
        prompt,
        max_tokens: golden.generated_ids.length,
        temperature: 0,
        logit_bias: NO_END,
      }),
    );
    const choice = r.choices[0];
    assert.deepEqual(idsOf(choice), golden.generated_ids);
    const local = await generateAll(solo, prompt, {
      max_new_tokens: golden.generated_ids.length,
      logit_bias: { 1: -100, 2: -100 },
    });
    assert.deepEqual(idsOf(choice), local.done.sequences[0].token_ids);
    assert.equal(choice.text, local.done.sequences[0].text);
    assert.equal(choice.finish_reason, 'length');
    const promptTokens = (await solo.tokenize(prompt)).length;
    assert.deepEqual(r.usage, {
      prompt_tokens: promptTokens,
      completion_tokens: golden.generated_ids.length,
      total_tokens: promptTokens + golden.generated_ids.length,
    });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.model, 'stories');
    assert.match(r.id, /^cmpl-/);
  });

  test('max_tokens defaults to 16 as in OpenAI', async () => {
    const r = await client.completions.create({
      model: 'stories',
      prompt: 'Sam',
      temperature: 0,
      logit_bias: NO_END,
    });
    assert.equal(r.usage?.completion_tokens, 16);
  });

  test('streaming gives the same text, one finish chunk and the usage chunk', async () => {
    const params = {
      model: 'stories',
      prompt: 'The dog',
      max_tokens: 25,
      temperature: 0,
      logit_bias: NO_END,
    };
    const whole = await client.completions.create(params);
    const stream = await client.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.text;
        if (c.finish_reason) finishes.push(c.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, whole.choices[0].text);
    assert.deepEqual(finishes, ['length']);
    assert.deepEqual(usage, whole.usage);
  });

  test('a stop string ends the text before it with finish_reason stop', async () => {
    const base = {
      model: 'stories',
      prompt: golden.prompt as string,
      max_tokens: 40,
      temperature: 0,
      logit_bias: NO_END,
    };
    const full = (await client.completions.create(base)).choices[0].text;
    const stop = full.slice(20, 26);
    const cut = await client.completions.create({ ...base, stop: [stop, 'zzzz'] });
    assert.equal(cut.choices[0].text, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.choices[0].finish_reason, 'stop');
  });

  test('n choices with a seed: indexed, reproducible, and counted in usage', async () => {
    const params = {
      model: 'stories',
      prompt: 'Lily',
      max_tokens: 12,
      temperature: 1,
      seed: 11,
      n: 3,
      logit_bias: NO_END,
    };
    const a = await client.completions.create(params);
    const b = await client.completions.create(params);
    assert.deepEqual(
      a.choices.map((c) => c.index),
      [0, 1, 2],
    );
    assert.deepEqual(
      a.choices.map((c) => c.text),
      b.choices.map((c) => c.text),
    );
    assert.ok(
      new Set(a.choices.map((c) => c.text)).size > 1,
      'new Set(a.choices.map((c) => c.text)).size > 1',
    );
    assert.equal(a.usage?.completion_tokens, 36);
    const other = await client.completions.create({ ...params, seed: 12 });
    assert.notDeepEqual(
      other.choices.map((c) => c.text),
      a.choices.map((c) => c.text),
    );
  });

  test('greedy n > 1 repeats the one greedy answer', async () => {
    const r = await client.completions.create({
      model: 'stories',
      prompt: 'Sam',
      max_tokens: 8,
      temperature: 0,
      n: 2,
    });
    assert.equal(r.choices.length, 2);
    assert.equal(r.choices[0].text, r.choices[1].text);
  });

  test('logprobs: one entry per token, the tokens spell the text, alternatives capped', async () => {
    const r = await client.completions.create({
      model: 'stories',
      prompt: 'Once upon a time',
      max_tokens: 15,
      temperature: 0,
      logprobs: 3,
      logit_bias: NO_END,
    });
    const lp = r.choices[0].logprobs!;
    assert.equal(lp.tokens!.length, 15);
    assert.equal(lp.tokens!.join(''), r.choices[0].text);
    assert.ok(
      lp.token_logprobs!.every((x) => x <= 0),
      'lp.token_logprobs!.every((x) => x <= 0)',
    );
    assert.ok(
      lp.top_logprobs!.every((top) => Object.keys(top).length <= 3),
      'lp.top_logprobs!.every((top) => Object.keys(top).length <= 3)',
    );
    assert.deepEqual(lp.text_offset![1], lp.tokens![0].length);
    const stream = await client.completions.create({
      model: 'stories',
      prompt: 'Once upon a time',
      max_tokens: 15,
      temperature: 0,
      logprobs: 3,
      logit_bias: NO_END,
      stream: true,
    });
    const tokens: string[] = [];
    for await (const chunk of stream) tokens.push(...(chunk.choices[0]?.logprobs?.tokens ?? []));
    assert.deepEqual(tokens, lp.tokens);
  });

  test('concurrent greedy requests each equal their sequential answer', async () => {
    const prompts = [
      'Once upon a time',
      'Sam',
      'The big red ball',
      'Mom',
      'A bird sat on',
      'Tim and Sue',
      'Yes',
    ];
    const ask = (prompt: string) =>
      client.completions.create(
        withIds({ model: 'stories', prompt, max_tokens: 30, temperature: 0, logit_bias: NO_END }),
      );
    const sequential: number[][] = [];
    for (const p of prompts) sequential.push(idsOf((await ask(p)).choices[0]));
    const together = await Promise.all(prompts.map(ask));
    together.forEach((r, i) => assert.deepEqual(idsOf(r.choices[0]), sequential[i], prompts[i]));
  });
});

describe('chat completions', () => {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You tell stories.' },
    { role: 'user', content: 'Tell me about a cat.' },
  ];

  test('the reply follows the chat template; usage counts the rendered prompt', async () => {
    const r = await client.chat.completions.create(
      withIds({
        model: 'stories-chat',
        messages,
        max_tokens: 20,
        temperature: 0,
        logit_bias: NO_END,
      }),
    );
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.role, 'assistant');
    const chat = await loadModel(chatFolder.dir, { inProcess: true, threads: 1 });
    try {
      const prompt = renderChatTemplate(chat.info.chatTemplate!, {
        messages: messages.map((m) => ({
          role: m.role as 'system' | 'user',
          content: String(m.content),
        })),
        addGenerationPrompt: true,
        specialTokens: chat.info.specialTokens,
      });
      const local = await generateAll(
        chat,
        prompt,
        { max_new_tokens: 20, logit_bias: { 1: -100, 2: -100 } },
        { addSpecialTokens: false },
      );
      assert.equal(r.choices[0].message.content, local.done.sequences[0].text);
      assert.equal(
        r.usage?.prompt_tokens,
        (await chat.tokenize(prompt, { addSpecialTokens: false })).length,
      );
      assert.equal(r.usage?.completion_tokens, 20);
    } finally {
      await chat.dispose();
    }
  });

  test('streamed chat: role first, then content deltas equal to the whole reply', async () => {
    const params = {
      model: 'stories-chat',
      messages,
      max_tokens: 20,
      temperature: 0,
      logit_bias: NO_END,
    };
    const whole = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let content = '';
    let first: OpenAI.ChatCompletionChunk | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      first ??= chunk;
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      assert.equal(chunk.object, 'chat.completion.chunk');
    }
    assert.equal(first?.choices[0].delta.role, 'assistant');
    assert.equal(content, whole.choices[0].message.content);
    assert.equal(finish, 'length');
  });

  test('chat logprobs carry tokens, bytes and top_logprobs', async () => {
    const r = await client.chat.completions.create({
      model: 'stories-chat',
      messages,
      max_tokens: 6,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    const content = r.choices[0].logprobs!.content!;
    assert.equal(content.length, r.usage?.completion_tokens);
    for (const entry of content) {
      assert.deepEqual(entry.bytes, [...Buffer.from(entry.token, 'utf8')]);
      assert.equal(entry.top_logprobs.length, 2);
      assert.ok(entry.logprob <= 0, 'entry.logprob <= 0');
    }
  });

  test('a model without a chat template answers 400', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'stories', messages }),
      (e: InstanceType<typeof OpenAI.APIError>) =>
        e.status === 400 && e.code === 'no_chat_template',
    );
  });
});

describe('plain HTTP', () => {
  test('SSE framing: data lines and blank lines only, ending with [DONE]', async () => {
    const res = await post(t.url, '/v1/completions', {
      model: 'stories',
      prompt: 'Sam',
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    const body = await res.text();
    assert.ok(body.endsWith('data: [DONE]\n\n'), "body.endsWith('data: [DONE]\\n\\n')");
    const events = body.split('\n\n').slice(0, -1);
    for (const event of events) assert.match(event, /^data: [^\n]+$/);
    const json = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    assert.ok(
      json.every((j) => j.object === 'text_completion' && 'usage' in j),
      "json.every((j) => j.object === 'text_completion' && 'usage' in j)",
    );
    assert.deepEqual(json.at(-1).choices, []);
    assert.equal(json.at(-1).usage.completion_tokens, 5);
  });

  const envelope = async (res: Response, status: number, param: string | null) => {
    assert.equal(res.status, status);
    assert.match(res.headers.get('content-type')!, /application\/json/);
    const body = (await res.json()) as ErrorBody;
    assert.deepEqual(Object.keys(body), ['error']);
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(body.error.param, param);
    assert.equal(typeof body.error.message, 'string');
    return body.error;
  };

  test('errors use the OpenAI envelope', async () => {
    await envelope(
      await post(t.url, '/v1/completions', { model: 'nope', prompt: 'x' }),
      404,
      'model',
    );
    await envelope(
      await post(t.url, '/v1/completions', { model: 'stories', prompt: 'x', temperature: 'hot' }),
      400,
      'temperature',
    );
    await envelope(
      await post(t.url, '/v1/completions', { model: 'stories', prompt: 3 }),
      400,
      'prompt',
    );
    await envelope(
      await post(t.url, '/v1/chat/completions', {
        model: 'stories-chat',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f' } }],
      }),
      400,
      'tools',
    );
    await envelope(
      await post(t.url, '/v1/chat/completions', {
        model: 'stories-chat',
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_object' },
      }),
      400,
      'response_format',
    );
    await envelope(
      await post(t.url, '/v1/chat/completions', {
        model: 'stories-chat',
        messages: [{ role: 'tool', content: 'x' }],
      }),
      400,
      'messages[0].role',
    );
    const bad = await fetch(`${t.url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"model":',
    });
    await envelope(bad, 400, null);
    await envelope(await fetch(`${t.url}/v1/completions`), 405, null);
    await envelope(await fetch(`${t.url}/v2/anything`), 404, null);
    const long = await envelope(
      await post(t.url, '/v1/completions', { model: 'stories', prompt: 'la '.repeat(600) }),
      400,
      null,
    );
    assert.equal(long.code, 'context_length_exceeded');
    assert.match(long.message, /\d+ tokens.*512 tokens/);
  });

  test('/v1/models lists the served models; /health answers', async () => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    assert.deepEqual(ids, ['stories', 'stories-chat', 't5']);
    assert.equal((list.data[0] as unknown as { max_model_len: number }).max_model_len, 512);
    const one = await client.models.retrieve('stories-chat');
    assert.equal(one.id, 'stories-chat');
    const health = await fetch(`${t.url}/health`);
    assert.equal(health.status, 200);
  });
});

describe('a text-to-text model', () => {
  test('runs requests one at a time (sequential mode) and answers them all', async () => {
    const ask = (prompt: string) =>
      client.completions.create({ model: 't5', prompt, max_tokens: 5, temperature: 0 });
    const alone = await ask('translate: hello');
    const together = await Promise.all([ask('translate: hello'), ask('other'), ask('third')]);
    assert.equal(together[0].choices[0].text, alone.choices[0].text);
    assert.ok(
      together.every((r) => r.usage!.completion_tokens > 0),
      'together.every((r) => r.usage!.completion_tokens > 0)',
    );
    assert.equal(await metric(t.url, 'textgen:batching_mode', 'mode="sequential"'), 1);
    assert.equal(await metric(t.url, 'textgen:num_requests_running', 'model_name="t5"'), 0);
  });
});
