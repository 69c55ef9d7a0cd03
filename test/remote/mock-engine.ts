// A small HTTP server on 127.0.0.1:0 that answers like vLLM, llama.cpp's server or ollama do, with
// each engine's quirks as recorded from their documentation and source: /v1/models entries
// (owned_by, max_model_len, meta), streamed chunks with extra fields, usage in different places or
// missing, [DONE] or not, and their error bodies. It records every request body it receives.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The engines replayed. */
export type EngineKind = 'vllm' | 'llamacpp' | 'ollama';

/** One scripted failure: answered instead of the next `times` generation requests. */
export interface ScriptedError {
  status: number;
  body: string;
  headers?: Record<string, string>;
  times?: number;
}

/** A running mock. */
export interface MockEngine {
  url: string;
  /** Bodies of the generation requests received, in order. */
  requests: Array<{ path: string; body: Record<string, unknown> }>;
  /** Failures to answer next (consumed in order). */
  errors: ScriptedError[];
  /** The text streamed back, one piece per chunk. */
  pieces: string[];
  close(): Promise<void>;
}

const MODEL = 'org/model-7b';

function models(kind: EngineKind): object {
  const entry = {
    vllm: { id: MODEL, object: 'model', created: 1, owned_by: 'vllm', root: MODEL, parent: null, max_model_len: 2048, permission: [] }, // prettier-ignore
    llamacpp: { id: MODEL, object: 'model', created: 1, owned_by: 'llamacpp', meta: { vocab_type: 2, n_vocab: 32000, n_ctx_train: 8192, n_embd: 4096 } }, // prettier-ignore
    ollama: { id: 'llama3:8b', object: 'model', created: 1, owned_by: 'library' },
  }[kind];
  return { object: 'list', data: [entry] };
}

/** The chunks of a streamed answer in `kind`'s shape. */
function chunks(
  kind: EngineKind,
  chat: boolean,
  pieces: string[],
  body: Record<string, unknown>,
): object[] {
  // prettier-ignore
  const base = { id: 'cmpl-1', object: chat ? 'chat.completion.chunk' : 'text_completion', created: 1, model: MODEL }; // prettier-ignore
  const choice = (text: string | undefined, finish: string | null, i: number) => {
    const content = chat ? { delta: text === undefined ? {} : { content: text } } : { text: text ?? '' }; // prettier-ignore
    const extra =
      kind === 'vllm'
        ? { stop_reason: null, ...(body.return_token_ids ? { token_ids: text === undefined ? [] : [100 + i] } : {}) } // prettier-ignore
        : {};
    return { index: 0, ...content, logprobs: null, finish_reason: finish, ...extra };
  };
  const usage = { prompt_tokens: 7, completion_tokens: pieces.length, total_tokens: 7 + pieces.length }; // prettier-ignore
  const out: object[] = pieces.map((p, i) => ({ ...base, choices: [choice(p, null, i)] }));
  if (kind === 'vllm') {
    out.push({ ...base, choices: [choice(undefined, 'length', pieces.length)] });
    out.push({ ...base, choices: [], usage });
  } else if (kind === 'llamacpp') {
    // llama.cpp puts usage and its timings on the final choice chunk.
    out.push({ ...base, choices: [choice(undefined, 'stop', 0)], usage, timings: { prompt_n: 7, predicted_n: pieces.length, predicted_per_second: 50 } }); // prettier-ignore
  } else {
    out.push({ ...base, system_fingerprint: 'fp_ollama', choices: [choice(undefined, 'stop', 0)] }); // prettier-ignore
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
  return parts.length ? JSON.parse(Buffer.concat(parts).toString('utf8')) : {};
}

/** Starts a mock of `kind`. */
export async function startMockEngine(kind: EngineKind): Promise<MockEngine> {
  const mock: Omit<MockEngine, 'url' | 'close'> = {
    requests: [],
    errors: [],
    pieces: ['Hello', ' there', ',', ' friend'],
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/v1/models') return json(res, 200, models(kind));
    if (req.method === 'GET' && path === '/props' && kind === 'llamacpp')
      return json(res, 200, { default_generation_settings: { n_ctx: 4096 }, total_slots: 1 });
    if (req.method === 'POST' && path === '/tokenize' && kind !== 'ollama') {
      const body = await readBody(req);
      const text = String(body.prompt ?? body.content ?? '');
      const tokens = [...text].map((c) => c.charCodeAt(0));
      return json(res, 200, kind === 'vllm' ? { count: tokens.length, max_model_len: 2048, tokens } : { tokens }); // prettier-ignore
    }
    if (req.method !== 'POST' || !/^\/v1\/(chat\/)?completions$/.test(path))
      return json(res, 404, kind === 'ollama' ? '404 page not found' : { error: { message: 'Not Found', type: 'not_found_error', code: 404 } }); // prettier-ignore
    const body = await readBody(req);
    mock.requests.push({ path, body });
    const scripted = mock.errors[0];
    if (scripted) {
      if (!scripted.times || --scripted.times <= 0) mock.errors.shift();
      res.writeHead(scripted.status, { 'Content-Type': 'application/json', ...scripted.headers });
      return res.end(scripted.body);
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (const chunk of chunks(kind, path.includes('chat'), mock.pieces, body))
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    // ollama's stream ends without [DONE] here, to check the reader does not depend on it.
    res.end(kind === 'ollama' ? '' : 'data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...mock,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as MockEngine;
}
