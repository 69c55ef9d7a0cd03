/**
 * The Hugging Face hub's HTTP protocol, as huggingface_hub speaks it: `/api/models/{id}/revision/{rev}`
 * for the commit and file list, HEAD `/{id}/resolve/{rev}/{file}` for a file's commit, etag and size
 * (X-Repo-Commit, X-Linked-Etag or ETag, X-Linked-Size or Content-Length), redirects followed by hand so
 * that the token goes to the endpoint only and never to a CDN.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, TextgenError } from '../common/errors.js';

/** Where and how to reach the hub. */
export interface HubConfig {
  endpoint: string;
  token?: string;
  /** Where the token came from, for hints (HF_TOKEN, or the token file's path). */
  tokenSource?: string;
  /** Seconds without data before a request is abandoned. */
  timeoutMs: number;
}

/**
 * The token file `huggingface-cli login` / `hf auth login` writes, as huggingface_hub finds it:
 * $HF_TOKEN_PATH, else $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else
 * ~/.cache/huggingface/token.
 */
export function tokenPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_TOKEN_PATH) return env.HF_TOKEN_PATH;
  const home =
    env.HF_HOME || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'huggingface');
  return join(home, 'token');
}

/** The token: HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN), else the login token file. */
function findToken(env: NodeJS.ProcessEnv): { token?: string; source?: string } {
  const fromEnv = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  if (fromEnv) return { token: fromEnv.trim(), source: 'HF_TOKEN' };
  const path = tokenPath(env);
  try {
    const token = readFileSync(path, 'utf8').trim();
    return token ? { token, source: path } : {};
  } catch {
    return {}; // not logged in (or unreadable): anonymous, as huggingface_hub does
  }
}

/** Reads HF_ENDPOINT (default https://huggingface.co), the token and HF_HUB_DOWNLOAD_TIMEOUT. */
export function hubConfig(env: NodeJS.ProcessEnv = process.env): HubConfig {
  const endpoint = (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  const { token, source } = findToken(env);
  const seconds = Number(env.HF_HUB_DOWNLOAD_TIMEOUT);
  return {
    endpoint,
    token,
    tokenSource: source,
    timeoutMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 30_000,
  };
}

/** huggingface_hub's reading of HF_HUB_OFFLINE: 1, ON, YES or TRUE (any case). */
export function isOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((env.HF_HUB_OFFLINE ?? '').trim().toUpperCase());
}

/** What the hub says about one file at one revision. */
export interface FileMetadata {
  /** X-Repo-Commit; absent only from servers that do not send it. */
  commit?: string;
  etag: string;
  size: number;
  /** The URL to GET: the resolve URL, or the CDN URL a redirect pointed at. */
  location: string;
}

/** A commit and its file list. */
export interface RevisionInfo {
  sha: string;
  files: string[];
}

/** Strips the weak-validator prefix and quotes, as huggingface_hub's _normalize_etag does. */
export function normalizeEtag(etag: string | null): string | undefined {
  if (!etag) return undefined;
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

/** Headers for a request to `url`: the token only when `url` is on the endpoint's own origin. */
export function headersFor(
  config: HubConfig,
  url: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': 'textgen/0.1 (node; onnx)', ...extra };
  if (config.token && new URL(url).origin === new URL(config.endpoint).origin)
    headers.authorization = `Bearer ${config.token}`;
  return headers;
}

function networkError(config: HubConfig, url: string, error: unknown): TextgenError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new TextgenError(`Cannot reach ${new URL(url).origin} (${detail}).`, {
    exitCode: ExitCode.network,
    hint: `Check your connection and HF_ENDPOINT (now ${config.endpoint}); models already pulled keep working offline.`,
    cause: error,
  });
}

/** Request options; `noTimeout` is for downloads, whose caller watches for stalls itself. */
export interface HubRequestInit {
  method: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  noTimeout?: boolean;
}

/** One fetch with a timeout, the caller's signal, no automatic redirects, and network errors typed. */
export async function hubRequest(
  config: HubConfig,
  url: string,
  init: HubRequestInit,
): Promise<Response> {
  const signals = [
    init.signal,
    init.noTimeout ? undefined : AbortSignal.timeout(config.timeoutMs),
  ].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length ? AbortSignal.any(signals) : undefined;
  try {
    return await fetch(url, {
      method: init.method,
      headers: headersFor(config, url, init.headers),
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw networkError(config, url, error);
  }
}

/** Turns a non-2xx/3xx hub answer into a TextgenError with a hint (HF_TOKEN for 401/403). */
export function statusError(
  config: HubConfig,
  response: Response,
  what: { id: string; revision?: string; file?: string },
): TextgenError {
  const code = response.headers.get('x-error-code') ?? '';
  const status = response.status;
  const where = `${what.id}${what.revision ? `@${what.revision}` : ''}${what.file ? ` (${what.file})` : ''}`;
  const tokenHint = config.token
    ? `${config.tokenSource === 'HF_TOKEN' || !config.tokenSource ? 'HF_TOKEN is set' : `The token in ${config.tokenSource} was sent`} but was not accepted for ${what.id}: check the token is valid and has read access, and the id is right.`
    : `If ${what.id} is private or gated, set HF_TOKEN (or run \`hf auth login\`) with a Hugging Face access token with read access; otherwise check the id.`;
  if (code === 'GatedRepo' || (status === 403 && !code)) {
    return new TextgenError(`Access to ${where} is restricted (HTTP ${status}).`, {
      exitCode: ExitCode.notFound,
      hint: `Accept the model's conditions on its page, then set HF_TOKEN. ${tokenHint}`,
    });
  }
  if (status === 401 || code === 'RepoNotFound') {
    return new TextgenError(
      `${config.endpoint} refused ${where}: not found or not authorized (HTTP ${status}).`,
      { exitCode: ExitCode.notFound, hint: tokenHint },
    );
  }
  if (code === 'RevisionNotFound' || (status === 404 && what.revision && !what.file)) {
    return new TextgenError(
      `Model ${what.id} has no revision ${what.revision ?? 'main'} on ${config.endpoint} (HTTP ${status}).`,
      { exitCode: ExitCode.notFound, hint: 'Check the branch, tag or commit after @.' },
    );
  }
  if (status === 404) {
    return new TextgenError(`Not found on ${config.endpoint}: ${where} (HTTP 404).`, {
      exitCode: ExitCode.notFound,
      hint: `Check the model id. ${tokenHint}`,
    });
  }
  const busy = status === 429 || status >= 500;
  return new TextgenError(`${config.endpoint} answered HTTP ${status} for ${where}.`, {
    exitCode: ExitCode.network,
    hint: busy
      ? 'The hub is busy or down; retry later (an interrupted pull resumes where it stopped).'
      : 'Check HF_ENDPOINT points at a Hugging Face hub.',
  });
}

/** Follows redirects by hand (at most 10), re-deciding the token for every hop. */
export async function requestFollowing(
  config: HubConfig,
  url: string,
  init: HubRequestInit & { relativeOnly?: boolean },
): Promise<{ response: Response; url: string }> {
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const response = await hubRequest(config, current, init);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status > 399 || !location)
      return { response, url: current };
    // HEAD follows only relative redirects (a renamed repo); an absolute one points at a CDN and its
    // 302 already carries the metadata. huggingface_hub draws the same line.
    if (init.relativeOnly && /^([a-z][a-z0-9+.-]*:|\/\/)/i.test(location))
      return { response, url: current };
    const next = new URL(location, current).toString();
    await response.body?.cancel();
    current = next;
  }
  throw new TextgenError(`Too many redirects from ${url}.`, {
    exitCode: ExitCode.network,
    hint: 'Check HF_ENDPOINT.',
  });
}

/** Fetches the commit hash and the file list of a revision. */
export async function fetchRevisionInfo(
  config: HubConfig,
  id: string,
  revision: string,
  signal?: AbortSignal,
): Promise<RevisionInfo> {
  let url = `${config.endpoint}/api/models/${id}/revision/${encodeURIComponent(revision)}`;
  let { response } = await requestFollowing(config, url, {
    method: 'GET',
    signal,
    headers: { accept: 'application/json' },
  });
  if (response.status === 404 && revision === 'main') {
    // huggingface_hub asks for the default branch as plain `/api/models/{id}`; hubs that serve only that form exist.
    await response.body?.cancel();
    url = `${config.endpoint}/api/models/${id}`;
    ({ response } = await requestFollowing(config, url, {
      method: 'GET',
      signal,
      headers: { accept: 'application/json' },
    }));
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw statusError(config, response, { id, revision });
  }
  let body: { sha?: unknown; siblings?: Array<{ rfilename?: unknown }> };
  try {
    body = (await response.json()) as typeof body;
  } catch (error) {
    throw new TextgenError(`${url} did not answer JSON.`, {
      exitCode: ExitCode.network,
      hint: 'Check HF_ENDPOINT points at a Hugging Face hub.',
      cause: error,
    });
  }
  if (typeof body.sha !== 'string' || !Array.isArray(body.siblings)) {
    throw new TextgenError(`${url} answered without sha and siblings.`, {
      exitCode: ExitCode.network,
      hint: 'Check HF_ENDPOINT points at a Hugging Face hub.',
    });
  }
  return { sha: body.sha, files: body.siblings.map((s) => String(s.rfilename)) };
}

/** The resolve URL of a file (path segments escaped, `/` kept, as huggingface_hub's hf_hub_url). */
export function resolveUrl(config: HubConfig, id: string, revision: string, file: string): string {
  return `${config.endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** HEADs a file: commit, normalized etag, size and where to download it from. */
export async function fetchFileMetadata(
  config: HubConfig,
  id: string,
  revision: string,
  file: string,
  signal?: AbortSignal,
): Promise<FileMetadata> {
  const url = resolveUrl(config, id, revision, file);
  // identity: a compressed answer would report the compressed size.
  const { response, url: reached } = await requestFollowing(config, url, {
    method: 'HEAD',
    signal,
    relativeOnly: true,
    headers: { 'accept-encoding': 'identity' },
  });
  if (response.status >= 400) throw statusError(config, response, { id, revision, file });
  const h = response.headers;
  const commit = h.get('x-repo-commit');
  const etag = normalizeEtag(h.get('x-linked-etag') ?? h.get('etag'));
  const size = Number(h.get('x-linked-size') ?? h.get('content-length'));
  if (!etag || !Number.isInteger(size) || size < 0) {
    throw new TextgenError(`${url} answered without an ETag or a size.`, {
      exitCode: ExitCode.network,
      hint: 'The endpoint does not look like a Hugging Face hub (or a proxy strips its headers); check HF_ENDPOINT.',
    });
  }
  const location = h.get('location');
  return {
    commit: commit ?? undefined,
    etag,
    size,
    location: location ? new URL(location, reached).toString() : reached,
  };
}
