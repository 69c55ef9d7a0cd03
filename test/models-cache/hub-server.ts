// Test helper: a small Hugging Face hub on 127.0.0.1 serving fixture folders in place, with the real
// hub's protocol: /api/models/{id}/revision/{rev} (sha + siblings), HEAD/GET /{id}/resolve/{rev}/{file}
// with X-Repo-Commit, ETag (git sha1) for regular files, and for LFS files a 302 to a second "CDN"
// server with X-Linked-Etag (sha256) and X-Linked-Size; Range support; fault injection; a request log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { etagOf, fakeCommit, folderFiles, isLfs, sha256 } from './hf-layout.js';

export interface HubRepoSpec {
  id: string;
  /** repo path → absolute file path on disk (read in place). */
  files: Record<string, string>;
  /** Extra names listed in siblings that do not exist (hostile-name tests). */
  extraSiblings?: string[];
  private?: boolean;
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  authorization?: string;
  range?: string;
  bytesSent: number;
}

export interface Faults {
  /** Cut the connection after this many body bytes of a file's GET, the next `times` GETs (counts down). */
  cut?: { file: string; afterBytes: number; times: number };
  /** After the cut, answer 503 to this many GETs of the file. */
  unavailableAfterCut?: number;
  /** Serve these files with one byte flipped (same size, same advertised etag). */
  corrupt?: Set<string>;
  /** Answer Range requests with the whole file (200), as some proxies do. */
  ignoreRange?: boolean;
  /** Delay between 64 KB chunks of this file (ms), to make downloads overlap. */
  slow?: { file: string; delayMs: number };
}

export interface HubServer {
  endpoint: string;
  cdn: string;
  requests: LoggedRequest[];
  faults: Faults;
  commitOf(id: string): string;
  close(): Promise<void>;
}

interface Entry {
  path: string;
  abs: string;
  size: number;
  etag: string;
  lfs: boolean;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function serveFixture(id: string, folder: string): HubRepoSpec {
  return { id, files: folderFiles(folder) };
}

export async function startHub(
  repos: HubRepoSpec[],
  options: { token?: string } = {},
): Promise<HubServer> {
  const requests: LoggedRequest[] = [];
  const faults: Faults = {};
  const byRepo = new Map<
    string,
    { commit: string; spec: HubRepoSpec; entries: Map<string, Entry> }
  >();
  const byBlob = new Map<string, Entry>();
  for (const spec of repos) {
    const entries = new Map<string, Entry>();
    for (const [path, abs] of Object.entries(spec.files)) {
      const data = readFileSync(abs);
      const entry = { path, abs, size: data.length, etag: etagOf(path, data), lfs: isLfs(path) };
      entries.set(path, entry);
      if (entry.lfs) byBlob.set(sha256(data), entry);
    }
    byRepo.set(spec.id, { commit: fakeCommit(spec.id), spec, entries });
  }
  let cdnUrl = '';

  const authorized = (req: IncomingMessage) =>
    !options.token || req.headers.authorization === `Bearer ${options.token}`;

  async function sendFile(
    req: IncomingMessage,
    res: ServerResponse,
    entry: Entry,
    log: LoggedRequest,
    extra: Record<string, string>,
  ) {
    let data = readFileSync(entry.abs);
    if (faults.corrupt?.has(entry.path)) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    let start = 0;
    const m = faults.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const headers: Record<string, string> = {
      ...extra,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
    };
    let status = 200;
    if (m) {
      start = Number(m[1]);
      const end = m[2] ? Number(m[2]) : data.length - 1;
      if (start >= data.length) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${end}/${data.length}`;
      data = data.subarray(start, end + 1);
      status = 206;
    }
    if (
      req.method === 'GET' &&
      faults.cut?.file === entry.path &&
      faults.cut.times === 0 &&
      (faults.unavailableAfterCut ?? 0) > 0
    ) {
      faults.unavailableAfterCut!--;
      res.writeHead(503).end();
      return;
    }
    headers['content-length'] = String(data.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    const cutAt =
      req.method === 'GET' && faults.cut?.file === entry.path && faults.cut.times > 0
        ? faults.cut.afterBytes - start
        : Infinity;
    if (cutAt !== Infinity) faults.cut!.times--;
    const delay = faults.slow?.file === entry.path ? faults.slow.delayMs : 0;
    for (let off = 0; off < data.length; off += 65536) {
      const chunk = data.subarray(
        off,
        Math.min(off + 65536, data.length, off + Math.max(cutAt - off, 0)),
      );
      const cut = off + 65536 > cutAt;
      if (chunk.length) {
        // Before a cut, wait until the bytes are handed to the kernel: closing the socket then
        // still delivers them, so bytesSent is what the client receives (a Range test relies on it).
        const flushed = new Promise<void>((r) => res.write(chunk, () => r()));
        log.bytesSent += chunk.length;
        if (cut) await flushed;
      }
      if (cut) {
        res.socket?.destroy();
        return;
      }
      if (delay) await new Promise((r) => setTimeout(r, delay));
    }
    res.end();
  }

  const hub = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const log: LoggedRequest = {
      server: 'hub',
      method: req.method ?? '',
      path: decodeURIComponent(url.pathname),
      authorization: req.headers.authorization,
      range: req.headers.range,
      bytesSent: 0,
    };
    requests.push(log);
    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api) {
      const repo = byRepo.get(api[1]);
      if (!repo || (repo.spec.private && !authorized(req))) {
        res
          .writeHead(repo ? 401 : 404, {
            'x-error-code': 'RepoNotFound',
            'content-type': 'application/json',
          })
          .end('{"error":"Repository not found"}');
        return;
      }
      const rev = decodeURIComponent(api[2]);
      if (rev !== 'main' && rev !== repo.commit) {
        res
          .writeHead(404, { 'x-error-code': 'RevisionNotFound' })
          .end('{"error":"Invalid rev id"}');
        return;
      }
      const siblings = [...repo.entries.keys(), ...(repo.spec.extraSiblings ?? [])].map(
        (rfilename) => ({ rfilename }),
      );
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: api[1], sha: repo.commit, siblings }));
      return;
    }
    const resolve = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = resolve ? [...byRepo.values()].find((r) => r.spec.id === resolve[1]) : undefined;
    if (!resolve || !repo) return void res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end();
    if (repo.spec.private && !authorized(req))
      return void res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end();
    const entry = repo.entries.get(decodeURIComponent(resolve[3]));
    const base = { 'x-repo-commit': repo.commit };
    if (!entry) return void res.writeHead(404, { ...base, 'x-error-code': 'EntryNotFound' }).end();
    if (entry.lfs) {
      res
        .writeHead(302, {
          ...base,
          location: `${cdnUrl}/blobs/${entry.etag}?signature=test`,
          'x-linked-etag': `"${entry.etag}"`,
          'x-linked-size': String(entry.size),
          etag: `"${fakeCommit(entry.path).slice(0, 40)}"`,
          'content-length': '0',
        })
        .end();
      return;
    }
    void sendFile(req, res, entry, log, { ...base, etag: `"${entry.etag}"` });
  });

  const cdn = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const log: LoggedRequest = {
      server: 'cdn',
      method: req.method ?? '',
      path: url.pathname,
      authorization: req.headers.authorization,
      range: req.headers.range,
      bytesSent: 0,
    };
    requests.push(log);
    const entry = byBlob.get(url.pathname.replace(/^\/blobs\//, ''));
    if (!entry) return void res.writeHead(404).end();
    void sendFile(req, res, entry, log, { etag: `"${entry.etag}"` });
  });

  const endpoint = await listen(hub);
  cdnUrl = await listen(cdn);
  return {
    endpoint,
    cdn: cdnUrl,
    requests,
    faults,
    commitOf: (id) => byRepo.get(id)!.commit,
    close: async () => {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
}
