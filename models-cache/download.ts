/**
 * Downloads one blob into the cache the way huggingface_hub does: into `blobs/{etag}.incomplete`,
 * resuming with an HTTP Range request after an interruption, then checking size and hash (sha256 for LFS
 * files; the size for regular files) before the rename to `blobs/{etag}`.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AbortedError, ExitCode, TextgenError } from '../common/errors.js';
import { hubRequest, statusError, type HubConfig } from './hub-client.js';

/** What to download and where. */
export interface BlobRequest {
  config: HubConfig;
  url: string;
  /** The final blob path (`blobs/{etag}`). */
  blob: string;
  etag: string;
  size: number;
  /** For messages. */
  id: string;
  file: string;
  signal?: AbortSignal;
  /** Called with the bytes present so far (including resumed ones). */
  onProgress?: (done: number) => void;
  /** Called before a retry after a dropped connection. */
  onRetry?: (done: number, error: Error) => void;
  /** Bounds on one blob's download (defaults: {@link DOWNLOAD_LIMITS}). */
  limits?: Partial<DownloadLimits>;
}

/** How much one blob may cost before its download is abandoned (resumable later). */
export interface DownloadLimits {
  /** GET requests in all. */
  attempts: number;
  /** Retries in a row that brought no new byte. */
  stalls: number;
  /** Times the part file may start over because the server ignored a Range request. */
  restarts: number;
  /** Bytes received in all, as a multiple of the blob's size (plus 1 MiB). */
  bytesFactor: number;
}

/**
 * Default bounds: enough to ride out a flaky connection (every retry that brings data is free of
 * stalls), never enough to loop on a server that ignores Range and cuts every answer, or that sends
 * more than it announced (9,000+ GETs before these bounds).
 */
export const DOWNLOAD_LIMITS: DownloadLimits = {
  attempts: 12,
  stalls: 3,
  restarts: 2,
  bytesFactor: 3,
};

/**
 * The hash checked before a blob is kept: sha256 for LFS files (a 64-hex etag is the content's sha256,
 * as huggingface_hub verifies). Regular files' etags are git blob sha1s on the hub, but hubs and
 * mirrors differ in what they send there, and huggingface_hub does not check them either: their size
 * is checked instead.
 */
export function blobHasher(etag: string): Hash | undefined {
  return /^[0-9a-f]{64}$/.test(etag) ? createHash('sha256') : undefined;
}

async function hashPrefix(path: string, hasher: Hash | undefined): Promise<void> {
  if (!hasher) return;
  for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Progress of one blob download, updated in place so that a broken stream loses nothing. */
interface DownloadState {
  done: number;
  fetched: number;
  hasher: Hash | undefined;
  /** Times the part file started over (Range ignored). */
  restarts: number;
  limits: DownloadLimits;
}

/** A server that breaks the protocol (more bytes than announced): retrying cannot help. */
class ProtocolError extends TextgenError {
  constructor(message: string, hint: string) {
    super(message, { exitCode: ExitCode.network, hint });
  }
}

/** Downloads a blob (resuming any `.incomplete` part) and returns the bytes fetched over the network. */
export async function downloadBlob(req: BlobRequest): Promise<number> {
  const incomplete = `${req.blob}.incomplete`;
  await mkdir(dirname(req.blob), { recursive: true });
  const state: DownloadState = {
    done: await sizeOf(incomplete),
    fetched: 0,
    hasher: blobHasher(req.etag),
    restarts: 0,
    limits: { ...DOWNLOAD_LIMITS, ...req.limits },
  };
  if (state.done > req.size) {
    await truncate(incomplete, 0);
    state.done = 0;
  }
  if (state.done > 0) await hashPrefix(incomplete, state.hasher);
  req.onProgress?.(state.done);
  const maxBytes = req.size * state.limits.bytesFactor + (1 << 20);
  let stalls = 0;
  for (let attempt = 1; state.done < req.size; attempt++) {
    const before = state.fetched;
    try {
      await fetchRange(req, incomplete, state);
    } catch (error) {
      if (req.signal?.aborted)
        throw new AbortedError('Download interrupted; run the same pull again to resume.');
      if (error instanceof ProtocolError) {
        // What it sent cannot be trusted: the part file goes too.
        await rm(incomplete, { force: true });
        throw error;
      }
      if (error instanceof TextgenError && error.exitCode !== ExitCode.network) throw error;
      stalls = state.fetched > before ? 0 : stalls + 1;
      const limit =
        state.restarts > state.limits.restarts
          ? `the server ignored Range requests and cut the answer ${state.restarts} times`
          : state.fetched > maxBytes
            ? `${state.fetched} bytes received for a ${req.size}-byte file`
            : attempt >= state.limits.attempts
              ? `${attempt} attempts`
              : stalls >= state.limits.stalls
                ? `${stalls} attempts in a row without data`
                : undefined;
      if (limit) throw giveUp(req, state, error as Error, limit);
      req.onRetry?.(state.done, error as Error);
      await new Promise((r) => setTimeout(r, 250 * stalls));
    }
  }
  await verify(req, incomplete, state.hasher);
  await rename(incomplete, req.blob);
  return state.fetched;
}

function giveUp(req: BlobRequest, state: DownloadState, error: Error, limit: string): TextgenError {
  const why = error.message.replace(/\.$/, '');
  return new TextgenError(
    `Download of ${req.file} failed after ${state.done} of ${req.size} bytes: ${limit} (last: ${why}).`,
    {
      exitCode: ExitCode.network,
      hint: `Retry later or through another HF_ENDPOINT; the same \`textgen models pull ${req.id}\` resumes from byte ${state.done}.`,
      cause: error,
    },
  );
}

async function verify(
  req: BlobRequest,
  incomplete: string,
  hasher: Hash | undefined,
): Promise<void> {
  const got = await sizeOf(incomplete);
  const digest = hasher?.digest('hex');
  if (got === req.size && (digest === undefined || digest === req.etag)) return;
  // A corrupt part must not be resumed: the next pull starts over.
  await rm(incomplete, { force: true });
  const detail =
    got !== req.size
      ? `size ${got}, expected ${req.size}`
      : `sha256 ${digest}, expected ${req.etag}`;
  throw new TextgenError(
    `Downloaded ${req.file} of ${req.id} is corrupt (${detail}); nothing was added to the cache.`,
    {
      exitCode: ExitCode.network,
      hint: 'Retry the pull; if it fails again the server or a proxy is altering the file.',
    },
  );
}

/** One GET from `state.done` to the end, appended to the part file; starts over if the server ignores Range. */
async function fetchRange(
  req: BlobRequest,
  incomplete: string,
  state: DownloadState,
): Promise<void> {
  const controller = new AbortController();
  const signal = req.signal ? AbortSignal.any([req.signal, controller.signal]) : controller.signal;
  const stall = () => controller.abort(new Error(`no data for ${req.config.timeoutMs / 1000}s`));
  let idle = setTimeout(stall, req.config.timeoutMs);
  try {
    const from = state.done;
    const response = await getFollowing(req, from, signal);
    let mode: 'a' | 'w' = from === 0 ? 'w' : 'a';
    if (from > 0 && response.status === 200) {
      // The server ignored the Range header and sends the whole file: start the part file over, a
      // bounded number of times (a server that also cuts every answer would loop forever).
      if (++state.restarts > state.limits.restarts) {
        await response.body?.cancel();
        throw new TextgenError(`The server ignores Range requests for ${req.file}.`, {
          exitCode: ExitCode.network,
        });
      }
      mode = 'w';
      state.done = 0;
      state.hasher = blobHasher(req.etag);
    } else if (from > 0 && !rangeStartsAt(response, from)) {
      await response.body?.cancel();
      throw new TextgenError(
        `The server answered a Range request for ${req.file} with an unexpected range.`,
        { exitCode: ExitCode.network, hint: 'Retry the pull.' },
      );
    }
    const file = await open(incomplete, mode);
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(idle);
        idle = setTimeout(stall, req.config.timeoutMs);
        if (state.done + chunk.length > req.size)
          // Not retried: the server does not send what its metadata announced.
          throw new ProtocolError(
            `The server sent more than the ${req.size} bytes it announced for ${req.file}; nothing was added to the cache.`,
            'The server or a proxy alters the file; retry later or through another HF_ENDPOINT.',
          );
        await file.write(chunk);
        state.hasher?.update(chunk);
        state.done += chunk.length;
        state.fetched += chunk.length;
        req.onProgress?.(state.done);
      }
      await file.datasync();
    } catch (error) {
      if (error instanceof TextgenError) throw error;
      throw controller.signal.aborted ? (controller.signal.reason as Error) : (error as Error);
    } finally {
      await file.close();
    }
    if (state.done < req.size) throw new Error('connection closed early');
  } finally {
    clearTimeout(idle);
  }
}

function rangeStartsAt(response: Response, from: number): boolean {
  const m = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  return response.status === 206 && m !== null && Number(m[1]) === from;
}

/** GETs the blob, following redirects by hand so the token never leaves the endpoint's origin. */
async function getFollowing(
  req: BlobRequest,
  from: number,
  signal: AbortSignal,
): Promise<Response> {
  let url = req.url;
  for (let hop = 0; hop < 10; hop++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (from > 0) headers.range = `bytes=${from}-`;
    const response = await hubRequest(req.config, url, {
      method: 'GET',
      headers,
      signal,
      noTimeout: true,
    });
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status <= 399 && location) {
      await response.body?.cancel();
      url = new URL(location, url).toString();
      continue;
    }
    if (response.status >= 400 || !response.body) {
      await response.body?.cancel();
      throw statusError(req.config, response, { id: req.id, file: req.file });
    }
    return response;
  }
  throw new TextgenError(`Too many redirects for ${req.file}.`, {
    exitCode: ExitCode.network,
    hint: 'Check HF_ENDPOINT.',
  });
}
