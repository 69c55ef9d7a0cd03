/**
 * `textgen serve`'s HTTP server: OpenAI-compatible routes over the core's TextGenerators, on the main
 * thread (decoding stays in the model workers). Routes: POST /v1/completions, POST
 * /v1/chat/completions, GET /v1/models[/ID], GET /health, GET /metrics, and vLLM's POST /tokenize
 * and /detokenize. Every request passes the
 * guard first (Host, API key, CORS); a client that disconnects aborts its generation.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_FIELD_LIMITS, UsageError, type FieldLimits } from '../generation/index.js';
import { ModelCatalogue, type CatalogueOptions } from './catalogue.js';
import { runCompletion } from './completions.js';
import {
  checkAccess,
  corsHeaders,
  isLoopback,
  readJsonBody,
  sendError,
  type GuardOptions,
} from './guard.js';
import { HttpError, toHttpError } from './http-errors.js';
import { Metrics } from './metrics.js';
import { parseCall } from './requests.js';
import { tokenizeRoute } from './tokenize.js';

export type { CatalogueOptions, CachedModel } from './catalogue.js';

/** How to serve. */
export interface ServeOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (0: any free port). */
  port: number;
  apiKey?: string;
  corsOrigin?: string;
  models: CatalogueOptions;
  limits?: FieldLimits;
}

/** What happened to one request (emitted as 'request' on {@link RunningServer.events}). */
export interface RequestLog {
  method: string;
  path: string;
  status: number;
  model?: string;
  /** stop, length, aborted or error, for completions. */
  reason?: string;
  ms: number;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  port: number;
  /** Emits 'request' with a {@link RequestLog} when a request has been answered. */
  events: EventEmitter;
  /** Stops listening, ends open connections and disposes the models. */
  close(): Promise<void>;
}

/** Throws a UsageError for a non-loopback address without an API key (checked before loading models). */
export function checkBind(host: string, apiKey: string | undefined): void {
  if (!isLoopback(host) && !apiKey)
    throw new UsageError(
      `Refusing to listen on ${host} without an API key: anyone who can reach it could use it.`,
      'Pass --api-key KEY (or TEXTGEN_API_KEY), or keep the default --host 127.0.0.1.',
    );
}

/** Starts the server; refuses a non-loopback bind without an API key. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  checkBind(host, options.apiKey);
  const loopback = isLoopback(host);
  const guard: GuardOptions = { loopback, apiKey: options.apiKey, corsOrigin: options.corsOrigin };
  const catalogue = new ModelCatalogue(options.models);
  const metrics = new Metrics();
  const events = new EventEmitter();
  const limits = options.limits ?? DEFAULT_FIELD_LIMITS;
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    const log: RequestLog = { method: request.method ?? 'GET', path: '', status: 0, ms: 0 };
    const cors = corsHeaders(request, guard);
    // A client gone mid-answer makes late writes fail; that is expected, not a server fault.
    response.on('error', () => undefined);
    route(request, response, { catalogue, metrics, limits, guard, cors, log, started })
      .catch((error) => {
        const http = toHttpError(error);
        if (!response.destroyed && !response.headersSent) sendError(response, http, cors);
        else if (!response.writableEnded) response.end();
        log.status = http.status;
      })
      .finally(() => {
        log.status ||= response.statusCode;
        log.ms = performance.now() - started;
        events.emit('request', log);
      });
  };
  const server = createServer({ requestTimeout: 0 }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    events,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await catalogue.dispose();
    },
  };
}

interface RouteContext {
  catalogue: ModelCatalogue;
  metrics: Metrics;
  limits: FieldLimits;
  guard: GuardOptions;
  cors: Record<string, string>;
  log: RequestLog;
  started: number;
}

function sendJson(response: ServerResponse, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  response.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

const ROUTES: Record<string, string> = {
  '/health': 'GET',
  '/metrics': 'GET',
  '/v1/models': 'GET',
  '/v1/completions': 'POST',
  '/v1/chat/completions': 'POST',
  '/tokenize': 'POST',
  '/detokenize': 'POST',
};

async function route(
  request: IncomingMessage,
  response: ServerResponse,
  ctx: RouteContext,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
  ctx.log.path = path;
  checkAccess(request, path, ctx.guard);
  if (request.method === 'OPTIONS' && ctx.guard.corsOrigin) {
    response.writeHead(204, ctx.cors);
    response.end();
    return;
  }
  const modelPath = path.startsWith('/v1/models/') ? path.slice('/v1/models/'.length) : undefined;
  const method = modelPath !== undefined ? 'GET' : ROUTES[path];
  if (!method) throw new HttpError(404, `No route for ${path}.`, { code: 'not_found' });
  if (request.method !== method)
    throw new HttpError(405, `${path} takes ${method} requests.`, {
      code: 'method_not_allowed',
      headers: { Allow: method },
    });
  if (path === '/health') return sendJson(response, { status: 'ok' }, ctx.cors);
  if (path === '/metrics') {
    const text = ctx.metrics.render(await ctx.catalogue.loaded());
    response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', ...ctx.cors });
    response.end(text);
    return;
  }
  if (path === '/v1/models')
    return sendJson(response, { object: 'list', data: await ctx.catalogue.list() }, ctx.cors);
  if (modelPath !== undefined) {
    const id = decodeURIComponent(modelPath);
    const entry = (await ctx.catalogue.list()).find((m) => (m as { id: string }).id === id);
    if (!entry)
      throw new HttpError(404, `The model '${id}' does not exist.`, { code: 'model_not_found' });
    return sendJson(response, entry, ctx.cors);
  }
  if (path === '/tokenize' || path === '/detokenize') {
    const body = await readJsonBody(request);
    if (body.model !== undefined && typeof body.model !== 'string')
      throw new HttpError(400, "'model' must be a string.", { param: 'model' });
    const generator = await ctx.catalogue.get(body.model as string | undefined);
    return sendJson(response, await tokenizeRoute(path, body, generator), ctx.cors);
  }
  await complete(request, response, ctx, path === '/v1/chat/completions' ? 'chat' : 'completion');
}

async function complete(
  request: IncomingMessage,
  response: ServerResponse,
  ctx: RouteContext,
  kind: 'chat' | 'completion',
): Promise<void> {
  const body = await readJsonBody(request);
  const call = parseCall(body, kind, ctx.limits);
  const name = call.model ?? ctx.catalogue.defaultName;
  ctx.log.model = name;
  const generator = await ctx.catalogue.get(name);
  let release: () => void;
  try {
    release = ctx.catalogue.admit(name, generator);
  } catch (error) {
    ctx.metrics.rejected(name);
    throw error;
  }
  const gone = new AbortController();
  const onClose = () => {
    if (!response.writableFinished) gone.abort();
  };
  response.on('close', onClose);
  try {
    const record = await runCompletion({
      generator,
      modelName: name,
      call,
      limits: ctx.limits,
      response,
      headers: ctx.cors,
      signal: gone.signal,
      arrival: ctx.started,
    });
    ctx.log.reason = record.reason;
    // nginx's "client closed request".
    if (record.reason === 'aborted') ctx.log.status = 499;
    ctx.metrics.record(record);
  } finally {
    release();
    response.off('close', onClose);
  }
}
