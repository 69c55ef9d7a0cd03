import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { acquireRepoLock, lockPathFor, STALE_MS } from '../../models-cache/lock.js';

function withCache(fn: (env: NodeJS.ProcessEnv) => Promise<void>) {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'textgen-lock-'));
    try {
      await fn({ HF_HUB_CACHE: root });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

test(
  'a second holder waits until the first releases',
  withCache(async (env) => {
    const first = await acquireRepoLock('org/m', { env });
    let acquired = false;
    let waiting!: (pid: number | undefined) => void;
    const waitedFor = new Promise<number | undefined>((resolve) => (waiting = resolve));
    const second = acquireRepoLock('org/m', { env, pollMs: 10, onWait: waiting }).then((l) => {
      acquired = true;
      return l;
    });
    // The second holder has found the lock taken (and names its owner): it must not have it yet.
    assert.equal(await waitedFor, process.pid);
    assert.equal(acquired, false);
    first.release();
    const lock = await second;
    assert.equal(acquired, true);
    lock.release();
    assert.equal(existsSync(lockPathFor('org/m', env)), false);
  }),
);

test(
  'locks of other repos do not block',
  withCache(async (env) => {
    const a = await acquireRepoLock('org/a', { env });
    const b = await acquireRepoLock('org/b', { env });
    a.release();
    b.release();
  }),
);

test(
  'stale locks (dead owner, or not refreshed) are taken over',
  withCache(async (env) => {
    const path = lockPathFor('org/m', env);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    const dead = await acquireRepoLock('org/m', { env, pollMs: 10 });
    dead.release();
    writeFileSync(path, JSON.stringify({ pid: process.ppid, host: 'another-host' }));
    const old = new Date(Date.now() - STALE_MS - 1000);
    utimesSync(path, old, old);
    const abandoned = await acquireRepoLock('org/m', { env, pollMs: 10 });
    abandoned.release();
  }),
);

test(
  'an aborted wait gives up',
  withCache(async (env) => {
    const held = await acquireRepoLock('org/m', { env });
    const controller = new AbortController();
    const waiting = acquireRepoLock('org/m', { env, pollMs: 10, signal: controller.signal });
    controller.abort();
    await assert.rejects(waiting, /Interrupted/);
    held.release();
  }),
);
