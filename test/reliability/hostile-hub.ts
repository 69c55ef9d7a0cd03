// Test helper: a minimal Hugging Face hub on 127.0.0.1 whose file downloads misbehave on purpose
// (ignore Range and cut the body, send more than announced, drip one byte per request, answer with
// the wrong range, fail with 500), counting every GET and byte, plus a barrier that holds downloads
// until several are in flight (proves parallel downloads without timing anything).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How GETs of one file behave. */
export type Behaviour =
  | { kind: 'normal' }
  /** Always 200 with the whole file, connection closed after `afterBytes`. */
  | { kind: 'ignore-range-cut'; afterBytes: number }
  /** Honours Range but closes the first `times` answers (all by default) after `afterBytes` bytes; then 500s if `thenError`. */
  | { kind: 'cut'; afterBytes: number; times?: number; thenError?: boolean }
  /** Sends `extra` bytes more than the size it announced. */
  | { kind: 'oversize'; extra: number }
  /** 206 whose Content-Range starts somewhere else. */
  | { kind: 'wrong-range'; afterBytes: number }
  /** HTTP 500 every time. */
  | { kind: 'error' };

export interface HostileFile {
  data: Buffer;
  /** LFS files get a sha256 etag (checked by the client); others a git-like sha1. */
  lfs?: boolean;
  behaviour?: Behaviour;
}

export interface HostileHub {
  endpoint: string;
  commit: string;
  gets: Map<string, number>;
  bytes: Map<string, number>;
  ranges: Map<string, string[]>;
  /** Most GETs in flight at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

/** Serves `files` as repo `id`; with `barrier` N, the first N GETs wait until all N have arrived. */
export async function startHostileHub(
  id: string,
  files: Record<string, HostileFile>,
  options: { barrier?: number } = {},
): Promise<HostileHub> {
  const commit = createHash('sha1').update(id).digest('hex');
  const state: HostileHub = {
    endpoint: '',
    commit,
    gets: new Map(),
    bytes: new Map(),
    ranges: new Map(),
    maxInFlight: 0,
    close: async () => {},
  };
  let inFlight = 0;
  let waiting: Array<() => void> = [];
  let barrier = options.barrier ?? 0;
  const etag = (f: HostileFile) =>
    createHash(f.lfs ? 'sha256' : 'sha1')
      .update(f.data)
      .digest('hex');
  const count = (map: Map<string, number>, key: string, n: number) =>
    map.set(key, (map.get(key) ?? 0) + n);

  async function get(req: IncomingMessage, res: ServerResponse, path: string, f: HostileFile) {
    count(state.gets, path, 1);
    state.ranges.set(path, [...(state.ranges.get(path) ?? []), req.headers.range ?? '']);
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    if (barrier > 0) {
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length >= barrier) {
          barrier = 0;
          for (const w of waiting) w();
          waiting = [];
        }
      });
    }
    res.on('close', () => inFlight--);
    const b = f.behaviour ?? { kind: 'normal' };
    if (b.kind === 'error' || (b.kind === 'cut' && b.thenError && b.times === 0))
      return void res.writeHead(500).end('boom');
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m && b.kind !== 'ignore-range-cut' ? Number(m[1]) : 0;
    const send = (status: number, headers: Record<string, string>, body: Buffer, cutAt: number) => {
      res.writeHead(status, headers);
      const part = body.subarray(0, Math.min(body.length, cutAt));
      count(state.bytes, path, part.length);
      if (part.length < body.length) res.write(part, () => res.socket?.destroy());
      else res.end(part);
    };
    if (b.kind === 'oversize') {
      const body = Buffer.concat([f.data.subarray(start), Buffer.alloc(b.extra, 7)]);
      return send(200, { 'content-length': String(body.length) }, body, Infinity);
    }
    if (b.kind === 'wrong-range' && start > 0) {
      const body = f.data.subarray(0);
      return send(
        206,
        { 'content-range': `bytes 0-${f.data.length - 1}/${f.data.length}` },
        body,
        b.afterBytes,
      );
    }
    const body = f.data.subarray(start);
    const headers: Record<string, string> = {
      'accept-ranges': 'bytes',
      'content-length': String(body.length),
    };
    if (start > 0)
      headers['content-range'] = `bytes ${start}-${f.data.length - 1}/${f.data.length}`;
    let cut = Infinity;
    if (b.kind === 'ignore-range-cut' || b.kind === 'wrong-range') cut = b.afterBytes;
    if (b.kind === 'cut' && (b.times === undefined || b.times-- > 0)) cut = b.afterBytes;
    send(start > 0 ? 206 : 200, headers, body, cut);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    if (path === `/api/models/${id}/revision/main` || path === `/api/models/${id}`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          sha: commit,
          siblings: Object.keys(files).map((rfilename) => ({ rfilename })),
        }),
      );
    }
    const prefix = `/${id}/resolve/main/`;
    const f = path.startsWith(prefix) ? files[path.slice(prefix.length)] : undefined;
    if (!f) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end();
    const file = path.slice(prefix.length);
    if (req.method === 'HEAD') {
      res.writeHead(200, {
        'x-repo-commit': commit,
        ...(f.lfs
          ? { 'x-linked-etag': `"${etag(f)}"`, 'x-linked-size': String(f.data.length) }
          : { etag: `"${etag(f)}"` }),
        'content-length': String(f.data.length),
      });
      return void res.end();
    }
    void get(req, res, file, f);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
