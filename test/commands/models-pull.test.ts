// End-to-end: `textgen models pull` (the built binary) against a hub emulator on 127.0.0.1 serving the
// shared fixtures in place: clean pull, resume after a cut, corruption, 404/401, concurrency, hostile
// names, offline mode, dtype selection, and generation from the cache with the network gone.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspectModelFolder } from '../../generation/model/model-folder.js';
import { resolveModel } from '../../models-cache/resolve.js';
import { gitBlobSha1, sharedModels } from '../models-cache/hf-layout.js';
import { serveFixture, startHub, type HubServer } from '../models-cache/hub-server.js';
import { assertBuilt, sandbox, textgen } from './models-cli.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';

const stories = join(sharedModels, 'stories260K-onnx');
let modelBytes: Buffer;
let modelSha: string;
let hub: HubServer;

before(async () => {
  assertBuilt();
  modelBytes = readFileSync(join(stories, 'onnx', 'model.onnx'));
  modelSha = createHash('sha256').update(modelBytes).digest('hex');
  hub = await startHub(
    [
      serveFixture('org/stories', stories),
      { ...serveFixture('org/private', stories), private: true },
      { ...serveFixture('org/hostile', stories), extraSiblings: ['../../evil'] },
      {
        id: 'org/multi',
        files: {
          'config.json': join(stories, 'config.json'),
          'tokenizer.json': join(stories, 'tokenizer.json'),
          'tokenizer_config.json': join(stories, 'tokenizer_config.json'),
          'onnx/model.onnx': join(stories, 'onnx', 'model.onnx'),
          'onnx/model_quantized.onnx': join(sharedModels, 'tiny-random-gpt2', 'onnx', 'model.onnx'),
          'onnx/model_quantized.onnx_data': join(sharedModels, 'tiny-random-gpt2', 'config.json'),
          'onnx/model_fp16.onnx_data': join(
            sharedModels,
            'tiny-random-gpt2',
            'generation_config.json',
          ),
        },
      },
    ],
    { token: 'secret-token' },
  );
});
after(() => hub?.close());

const repoFolder = (cache: string, id: string) => join(cache, `models--${id.replace('/', '--')}`);
const cdnGets = (path: string) =>
  hub.requests.filter((r) => r.server === 'cdn' && r.method === 'GET' && r.path === path);

test('a clean pull lays the cache out as huggingface_hub does and sends the token to the hub only', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint, HF_TOKEN: 'secret-token' });
  try {
    const seen = hub.requests.length;
    const r = await textgen(['models', 'pull', 'org/stories'], box.env);
    assert.equal(r.exitCode, 0, String(r.stderr));
    const repo = repoFolder(box.cache, 'org/stories');
    const commit = hub.commitOf('org/stories');
    assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), commit);
    const snap = join(repo, 'snapshots', commit);
    assert.equal(readlinkSync(join(snap, 'onnx', 'model.onnx')), `../../../blobs/${modelSha}`);
    const config = readFileSync(join(stories, 'config.json'));
    assert.equal(readlinkSync(join(snap, 'config.json')), `../../blobs/${gitBlobSha1(config)}`);
    assert.deepEqual(readdirSync(snap).sort(), [
      'config.json',
      'generation_config.json',
      'onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    assert.ok(
      readdirSync(join(repo, 'blobs')).every((b) => !b.endsWith('.incomplete')),
      "readdirSync(join(repo, 'blobs')).every((b) => !b.endsWith('.incomplete'))",
    );
    const mine = hub.requests.slice(seen);
    assert.ok(
      mine
        .filter((q) => q.server === 'hub')
        .every((q) => q.authorization === 'Bearer secret-token'),
      "mine .filter((q) => q.server === 'hub') .every((q) => q.authorization === 'Bearer secret-token')",
    );
    const cdn = mine.filter((q) => q.server === 'cdn');
    assert.equal(cdn.length, 1);
    assert.equal(cdn[0].authorization, undefined, 'the token must not reach the CDN host');
    const resolved = resolveModel('org/stories', { env: box.env });
    assert.equal(resolved.dir, snap);
    assert.equal(resolved.revision, commit);
    assert.deepEqual(inspectModelFolder(resolved.dir).dtypes, ['fp32']);
    const again = await textgen(['models', 'pull', 'org/stories', '--json'], box.env);
    assert.equal(again.exitCode, 0, String(again.stderr));
    assert.equal(JSON.parse(String(again.stdout)).fetched_bytes, 0);
    assert.match(String(again.stderr), /already in the cache/);
  } finally {
    box.cleanup();
  }
});

test('a connection cut mid-file is resumed with a Range request and nothing before the cut is fetched twice', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  const blob = `/blobs/${modelSha}`;
  const before = cdnGets(blob).length;
  hub.faults.cut = { file: 'onnx/model.onnx', afterBytes: 300_000, times: 1 };
  try {
    const r = await textgen(['models', 'pull', 'org/stories'], box.env);
    assert.equal(r.exitCode, 0, String(r.stderr));
    const gets = cdnGets(blob).slice(before);
    assert.equal(gets.length, 2);
    assert.equal(gets[0].range, undefined);
    // The resume starts where the part file ends: bytes still in flight when the connection was
    // cut may be lost on the way (TCP), but nothing the client kept is fetched again.
    const start = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
    assert.ok(start > 0 && start <= gets[0].bytesSent, `resumed at ${gets[1].range}`);
    assert.equal(gets[1].bytesSent, modelBytes.length - start);
    const blobFile = join(repoFolder(box.cache, 'org/stories'), 'blobs', modelSha);
    assert.equal(createHash('sha256').update(readFileSync(blobFile)).digest('hex'), modelSha);
  } finally {
    hub.faults.cut = undefined;
    box.cleanup();
  }
});

test('a server that ignores Range gets the whole file again and the blob is still exact', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  const blob = `/blobs/${modelSha}`;
  const before = cdnGets(blob).length;
  hub.faults.cut = { file: 'onnx/model.onnx', afterBytes: 300_000, times: 1 };
  hub.faults.ignoreRange = true;
  try {
    const r = await textgen(['models', 'pull', 'org/stories'], box.env);
    assert.equal(r.exitCode, 0, String(r.stderr));
    const gets = cdnGets(blob).slice(before);
    // The second GET asks to resume (where the part file ends), gets the whole file, starts over.
    assert.deepEqual(
      gets.map((g) => [g.range === undefined ? 'none' : 'resume', g.bytesSent]),
      [
        ['none', 300_000],
        ['resume', modelBytes.length],
      ],
    );
    assert.match(gets[1].range ?? '', /^bytes=[1-9]\d*-$/);
    const file = join(repoFolder(box.cache, 'org/stories'), 'blobs', modelSha);
    assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), modelSha);
  } finally {
    hub.faults.cut = undefined;
    hub.faults.ignoreRange = undefined;
    box.cleanup();
  }
});

test('a pull that fails mid-file leaves a resumable part that the next pull continues', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  const blob = `/blobs/${modelSha}`;
  const before = cdnGets(blob).length;
  hub.faults.cut = { file: 'onnx/model.onnx', afterBytes: 400_000, times: 1 };
  hub.faults.unavailableAfterCut = 3;
  try {
    const first = await textgen(['models', 'pull', 'org/stories'], box.env);
    assert.equal(first.exitCode, 5, String(first.stderr));
    // The cut comes after 400,000 bytes were sent; bytes still in flight may be lost with the
    // connection, so the part holds what arrived, and the hint names exactly that.
    const kept = Number(/resumes from byte (\d+)/.exec(String(first.stderr))?.[1]);
    assert.ok(kept > 0 && kept <= 400_000, `resumable at ${kept}: ${String(first.stderr)}`);
    const repo = repoFolder(box.cache, 'org/stories');
    assert.equal(statSync(join(repo, 'blobs', `${modelSha}.incomplete`)).size, kept);
    assert.equal(existsSync(join(repo, 'snapshots')), false);
    hub.faults.cut = undefined;
    const second = await textgen(['models', 'pull', 'org/stories'], box.env);
    assert.equal(second.exitCode, 0, String(second.stderr));
    const gets = cdnGets(blob)
      .slice(before)
      .filter((g) => g.bytesSent > 0);
    assert.equal(gets.at(-1)!.range, `bytes=${kept}-`);
    assert.equal(gets.at(-1)!.bytesSent, modelBytes.length - kept);
    assert.equal(
      createHash('sha256')
        .update(readFileSync(join(repo, 'blobs', modelSha)))
        .digest('hex'),
      modelSha,
    );
  } finally {
    hub.faults.cut = undefined;
    hub.faults.unavailableAfterCut = 0;
    box.cleanup();
  }
});

test('corrupted content is rejected and nothing reaches snapshots/', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  hub.faults.corrupt = new Set(['onnx/model.onnx']);
  try {
    const r = await textgen(['models', 'pull', 'org/stories'], box.env);
    assert.equal(r.exitCode, 5);
    assert.match(String(r.stderr), /corrupt \(sha256/);
    const repo = repoFolder(box.cache, 'org/stories');
    assert.equal(existsSync(join(repo, 'snapshots')), false);
    assert.equal(existsSync(join(repo, 'refs')), false);
    assert.deepEqual(
      readdirSync(join(repo, 'blobs')).filter((b) => b.startsWith(modelSha)),
      [],
    );
  } finally {
    hub.faults.corrupt = undefined;
    box.cleanup();
  }
});

test('404 and 401 are not-found errors; 401 hints at HF_TOKEN', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  try {
    const missing = await textgen(['models', 'pull', 'org/nope'], box.env);
    assert.equal(missing.exitCode, 4);
    assert.match(String(missing.stderr), /org\/nope/);
    const badRev = await textgen(['models', 'pull', 'org/stories@v9'], box.env);
    assert.equal(badRev.exitCode, 4);
    assert.match(String(badRev.stderr), /no revision v9/);
    const denied = await textgen(['models', 'pull', 'org/private'], box.env);
    assert.equal(denied.exitCode, 4);
    assert.match(String(denied.stderr), /HTTP 401/);
    assert.match(String(denied.stderr), /hint: .*set HF_TOKEN/);
    const wrong = await textgen(['models', 'pull', 'org/private'], {
      ...box.env,
      HF_TOKEN: 'wrong',
    });
    assert.match(String(wrong.stderr), /HF_TOKEN is set but was not accepted/);
    const ok = await textgen(['models', 'pull', 'org/private'], {
      ...box.env,
      HF_TOKEN: 'secret-token',
    });
    assert.equal(ok.exitCode, 0, String(ok.stderr));
    assert.equal(existsSync(repoFolder(box.cache, 'org/nope')), false);
  } finally {
    box.cleanup();
  }
});

test('two concurrent pulls of one model download each blob once and both succeed', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  const blob = `/blobs/${modelSha}`;
  const before = cdnGets(blob).length;
  hub.faults.slow = { file: 'onnx/model.onnx', delayMs: 60 };
  try {
    const [a, b] = await Promise.all([
      textgen(['models', 'pull', 'org/stories'], box.env),
      textgen(['models', 'pull', 'org/stories'], box.env),
    ]);
    assert.equal(a.exitCode, 0, String(a.stderr));
    assert.equal(b.exitCode, 0, String(b.stderr));
    assert.equal(cdnGets(blob).length - before, 1);
    assert.match(`${a.stderr}${b.stderr}`, /Waiting for another pull/);
    const snap = resolveModel('org/stories', { env: box.env }).dir;
    assert.equal(
      createHash('sha256')
        .update(readFileSync(join(snap, 'onnx', 'model.onnx')))
        .digest('hex'),
      modelSha,
    );
  } finally {
    hub.faults.slow = undefined;
    box.cleanup();
  }
});

test('a hostile file name from the server stops the pull before anything is written', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  try {
    const r = await textgen(['models', 'pull', 'org/hostile'], box.env);
    assert.equal(r.exitCode, 1);
    assert.match(String(r.stderr), /unsafe file name: "\.\.\/\.\.\/evil"/);
    assert.equal(existsSync(join(box.cache, 'evil')), false);
    assert.equal(existsSync(join(box.root, 'evil')), false);
    assert.equal(existsSync(join(repoFolder(box.cache, 'org/hostile'), 'snapshots')), false);
    const badId = await textgen(['models', 'pull', '../../etc'], box.env);
    assert.equal(badId.exitCode, 2);
  } finally {
    box.cleanup();
  }
});

test('offline mode refuses to download and never touches the network', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  try {
    const seen = hub.requests.length;
    const r = await textgen(['models', 'pull', 'org/stories'], { ...box.env, HF_HUB_OFFLINE: '1' });
    assert.equal(r.exitCode, 5);
    assert.match(String(r.stderr), /Offline mode/);
    assert.equal(hub.requests.length, seen);
    assert.equal((await textgen(['models', 'pull', 'org/stories'], box.env)).exitCode, 0);
    const seenAfter = hub.requests.length;
    const cached = await textgen(['models', 'pull', 'org/stories'], {
      ...box.env,
      HF_HUB_OFFLINE: 'true',
    });
    assert.equal(cached.exitCode, 0, String(cached.stderr));
    assert.match(String(cached.stderr), /nothing downloaded/);
    assert.equal(hub.requests.length, seenAfter);
  } finally {
    box.cleanup();
  }
});

test('--dtype pulls only that variant and its external data; the default is the automatic choice', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  try {
    const q8 = await textgen(['models', 'pull', 'org/multi', '--dtype', 'q8', '--json'], box.env);
    assert.equal(q8.exitCode, 0, String(q8.stderr));
    const files = (JSON.parse(String(q8.stdout)).files as Array<{ file: string }>)
      .map((f) => f.file)
      .sort();
    assert.deepEqual(files, [
      'config.json',
      'onnx/model_quantized.onnx',
      'onnx/model_quantized.onnx_data',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const auto = await textgen(['models', 'pull', 'org/multi', '--json'], box.env);
    assert.equal(JSON.parse(String(auto.stdout)).dtype, 'fp32');
    const snap = resolveModel('org/multi', { env: box.env }).dir;
    assert.deepEqual(inspectModelFolder(snap).dtypes, ['fp32', 'q8']);
    assert.ok(
      lstatSync(join(snap, 'onnx', 'model.onnx')).isSymbolicLink(),
      "lstatSync(join(snap, 'onnx', 'model.onnx')).isSymbolicLink()",
    );
    const none = await textgen(['models', 'pull', 'org/multi', '--dtype', 'q4'], box.env);
    assert.equal(none.exitCode, 4);
    assert.match(String(none.stderr), /no q4 weights \(available: fp32, q8\)/);
    const fresh = sandbox({ HF_ENDPOINT: hub.endpoint });
    const refused = await textgen(['models', 'pull', 'org/multi', '--dtype', 'fp16'], fresh.env);
    assert.equal(refused.exitCode, 4);
    assert.equal(
      existsSync(repoFolder(fresh.cache, 'org/multi')),
      false,
      'nothing is written for an unavailable dtype',
    );
    fresh.cleanup();
  } finally {
    box.cleanup();
  }
});

test('after a pull, generate --model org/name works with the network gone', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  try {
    assert.equal((await textgen(['models', 'pull', 'org/stories'], box.env)).exitCode, 0);
    const offline = { ...box.env, HF_ENDPOINT: 'http://127.0.0.1:9' };
    const r = await textgen(
      [
        'generate',
        '--model',
        'org/stories',
        '--max-new-tokens',
        '12',
        '--greedy',
        'Once upon a time',
      ],
      offline,
    );
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.match(String(r.stdout), /Lily/);
    const missing = await textgen(['generate', '--model', 'org/absent', 'hi'], offline);
    assert.equal(missing.exitCode, 4);
    assert.match(String(missing.stderr), /textgen models pull org\/absent/);
  } finally {
    box.cleanup();
  }
});
