/**
 * The server's security defaults, checked before any route runs: a loopback server answers only
 * requests whose Host names the loopback (a DNS-rebinding page cannot reach it), the API key is
 * compared in constant time, CORS headers exist only for the configured origin, bodies are JSON and
 * at most 1 MiB. Binding beyond the loopback without an API key is refused at start (serve-options).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http-errors.js';

/** The largest request body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the guard enforces. */
export interface GuardOptions {
  /** Whether the server listens on a loopback address only. */
  loopback: boolean;
  apiKey?: string;
  /** The one origin (or '*') that gets CORS headers. */
  corsOrigin?: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether `host` is a loopback address or name (used for the bind address too). */
export function isLoopback(host: string): boolean {
  return (
    LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host) || host.endsWith('.localhost')
  );
}

/** The host part of a Host header ("[::1]:8080" → "[::1]", "localhost:80" → "localhost"). */
function hostName(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.split(':')[0].toLowerCase();
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares two secrets in time independent of where they differ (and of their lengths). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** Adds the CORS headers when the request's origin is the configured one. */
export function corsHeaders(
  request: IncomingMessage,
  options: GuardOptions,
): Record<string, string> {
  const origin = request.headers.origin;
  if (!options.corsOrigin || !origin) return {};
  if (options.corsOrigin !== '*' && origin !== options.corsOrigin) return {};
  return {
    'Access-Control-Allow-Origin': options.corsOrigin === '*' ? '*' : origin,
    'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Max-Age': '600',
    Vary: 'Origin',
  };
}

/**
 * Checks the Host header and the API key; throws the HttpError to answer with. `/health` needs no key
 * (load balancers probe it) but still a local Host; neither does a CORS preflight.
 */
export function checkAccess(request: IncomingMessage, path: string, options: GuardOptions): void {
  if (options.loopback) {
    const host = request.headers.host;
    if (!host || !isLoopback(hostName(host)))
      throw new HttpError(
        403,
        'This server answers only requests addressed to the loopback host.',
        {
          code: 'forbidden_host',
        },
      );
  }
  // Browsers send CORS preflights without credentials; they are answered with headers only.
  const preflight = request.method === 'OPTIONS' && options.corsOrigin !== undefined;
  if (!options.apiKey || path === '/health' || preflight) return;
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match || !sameSecret(match[1].trim(), options.apiKey))
    throw new HttpError(401, 'Invalid or missing API key (send "Authorization: Bearer KEY").', {
      code: 'invalid_api_key',
    });
}

/** Reads a JSON object body: application/json only, at most {@link MAX_BODY_BYTES}. */
export async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json')
    throw new HttpError(415, 'Content-Type must be application/json.', {
      code: 'unsupported_media_type',
    });
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON.', { code: 'invalid_json' });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'The request body must be a JSON object.', { code: 'invalid_json' });
  return body as Record<string, unknown>;
}

function tooLarge(): HttpError {
  return new HttpError(413, `The request body exceeds ${MAX_BODY_BYTES} bytes.`, {
    code: 'body_too_large',
  });
}

/** Answers an error in OpenAI's envelope (headers not sent yet). */
export function sendError(
  response: ServerResponse,
  error: HttpError,
  extra: Record<string, string> = {},
): void {
  const body = JSON.stringify(error.envelope());
  response.writeHead(error.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...extra,
    ...error.options.headers,
  });
  response.end(body);
}
