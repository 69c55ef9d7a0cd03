// Test helpers for the server tests: stories260K with and without a chat template, a server started
// in-process on 127.0.0.1:0 over real model workers, raw HTTP requests (custom Host headers, bodies
// of any type), Prometheus values, and a promise for the server's next request log.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { loadModel, type TextGenerator } from '../../generation/index.js';
import {
  startServer,
  type RequestLog,
  type RunningServer,
  type ServeOptions,
} from '../../server/index.js';
import { fixture, linkFolder, type TempFolder } from '../generation/fixtures.js';

export const STORIES = fixture('stories260K-onnx');

/** stories260K whose tokenizer_config.json carries the Llama-2 chat template (a temp folder). */
export function storiesWithChatTemplate(): TempFolder {
  const config = JSON.parse(readFileSync(join(STORIES, 'tokenizer_config.json'), 'utf8'));
  const llama = JSON.parse(
    readFileSync(fixture('ort-genai-tiny-random-llama-fp16', 'tokenizer_config.json'), 'utf8'),
  );
  const entries: Record<string, string | { text: string }> = {};
  for (const name of [
    'config.json',
    'generation_config.json',
    'special_tokens_map.json',
    'tokenizer.json',
    'onnx/model.onnx',
  ])
    entries[name] = join(STORIES, name);
  entries['tokenizer_config.json'] = {
    text: JSON.stringify({ ...config, chat_template: llama.chat_template }),
  };
  return linkFolder(entries);
}

/** OpenAI's error envelope. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A server on 127.0.0.1:0 and the generators it serves. */
export interface TestServer {
  server: RunningServer;
  generators: TextGenerator[];
  url: string;
}

/** Loads `models` (name → folder) with `parallel` rows and serves them. */
export async function serve(
  models: Record<string, string>,
  options: Partial<ServeOptions> & { parallel?: number; maxQueue?: number } = {},
): Promise<TestServer> {
  const served = [];
  for (const [name, dir] of Object.entries(models))
    served.push({
      name,
      generator: await loadModel(dir, { threads: 1, parallel: options.parallel ?? 4 }),
    });
  const server = await startServer({
    port: 0,
    ...options,
    models: { served, maxQueue: options.maxQueue ?? 8, ...options.models },
  });
  return { server, generators: served.map((s) => s.generator), url: server.url };
}

/** A response read to the end. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP request with full control of the headers (fetch forbids setting Host). */
export function raw(
  url: string,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  },
): Promise<RawResponse> {
  const base = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** POSTs JSON with fetch. */
export function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** A metric's value from /metrics (its first sample whose labels include `labels`). */
export async function metric(
  url: string,
  name: string,
  labels = '',
  headers: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/**
 * Reads /metrics until `name` has `value`: each read awaits the server (no timers); gives up after
 * `tries` reads.
 */
export async function untilMetric(
  url: string,
  name: string,
  value: number,
  tries = 5000,
): Promise<void> {
  for (let i = 0; i < tries; i++) if ((await metric(url, name)) === value) return;
  throw new Error(`${name} never reached ${value}`);
}

/** The next request log of `server` that matches `match`. */
export function nextRequest(
  server: RunningServer,
  match: (log: RequestLog) => boolean,
): Promise<RequestLog> {
  return new Promise((resolve) => {
    const listener = (log: RequestLog) => {
      if (!match(log)) return;
      server.events.off('request', listener);
      resolve(log);
    };
    server.events.on('request', listener);
  });
}
