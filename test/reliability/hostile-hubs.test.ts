// Issues 16.3 and 18.7: `models pull` against hostile hubs on 127.0.0.1 is bounded — a server that
// ignores Range and cuts every answer, sends more than it announced, drips a byte per request,
// answers the wrong range or fails every time ends in one error line (exit 5) after a bounded number
// of GETs and bytes, with no snapshot written and no other cached model touched. A snapshot's files
// download in parallel, and an interrupted parallel pull resumes each part where it stopped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  assertNothingLost,
  assertOneLineError,
  repoRoot,
  sandbox,
  snapshotTree,
  textgen,
  type Sandbox,
} from './harness.js';
import { startHostileHub, type Behaviour, type HostileFile } from './hostile-hub.js';
import { DOWNLOAD_LIMITS } from '../../models-cache/download.js';

// The embedded model's files are what the hubs serve: the tests need nothing outside the repository.
const MODEL = join(repoRoot, 'models', 'default');
const ONNX = readFileSync(join(MODEL, 'onnx', 'model.onnx'));
let box: Sandbox;

before(() => {
  assertBuilt();
  box = sandbox();
});
after(() => box.cleanup());

function modelFiles(onnx: Behaviour = { kind: 'normal' }): Record<string, HostileFile> {
  const small = (name: string): HostileFile => ({ data: readFileSync(join(MODEL, name)) });
  return {
    'config.json': small('config.json'),
    'generation_config.json': small('generation_config.json'),
    'tokenizer.json': small('tokenizer.json'),
    'tokenizer_config.json': small('tokenizer_config.json'),
    'onnx/model.onnx': { data: ONNX, lfs: true, behaviour: onnx },
  };
}

const repoOf = (id: string) => join(box.env.HF_HUB_CACHE, `models--${id.replace('/', '--')}`);

const HOSTILE: Array<[string, Behaviour, RegExp]> = [
  [
    'ignores Range and cuts every answer',
    { kind: 'ignore-range-cut', afterBytes: 100_000 },
    /ignored Range requests and cut the answer/,
  ],
  [
    'sends more bytes than it announced',
    { kind: 'oversize', extra: 4096 },
    /sent more than the \d+ bytes it announced/,
  ],
  ['drips one byte per request', { kind: 'cut', afterBytes: 1 }, /\d+ attempts/],
  [
    'answers Range with the wrong range',
    { kind: 'wrong-range', afterBytes: 50_000 },
    /attempts|without data/,
  ],
  ['fails with HTTP 500 every time', { kind: 'error' }, /HTTP 500/],
];

for (const [label, behaviour, message] of HOSTILE) {
  test(`models pull: a server that ${label} is given up on, bounded`, async () => {
    // A model already in the cache must come out of the failed pull untouched.
    const good = await startHostileHub('org/good', modelFiles());
    const env = { ...box.env, HF_ENDPOINT: good.endpoint, HF_HUB_DOWNLOAD_TIMEOUT: '20' };
    try {
      assert.equal((await textgen(['models', 'pull', 'org/good'], env)).exitCode, 0);
    } finally {
      await good.close();
    }
    const kept = snapshotTree(repoOf('org/good'));
    const id = `org/${label.split(' ')[0]}-${behaviour.kind}`;
    const hub = await startHostileHub(id, modelFiles(behaviour));
    try {
      const result = await textgen(['models', 'pull', id], { ...env, HF_ENDPOINT: hub.endpoint });
      assertOneLineError(result, 5, message);
      const gets = hub.gets.get('onnx/model.onnx') ?? 0;
      assert.ok(gets >= 1 && gets <= DOWNLOAD_LIMITS.attempts, `${gets} GETs`);
      const bytes = hub.bytes.get('onnx/model.onnx') ?? 0;
      assert.ok(
        bytes <= ONNX.length * DOWNLOAD_LIMITS.bytesFactor + (1 << 20),
        `${bytes} bytes for a ${ONNX.length}-byte file`,
      );
      const snapshots = join(repoOf(id), 'snapshots');
      assert.ok(!existsSync(snapshots) || readdirSync(snapshots).length === 0, 'no snapshot');
      assertNothingLost(kept, repoOf('org/good'));
    } finally {
      await hub.close();
    }
  });
}

test('models pull: a flaky server that cuts answers but honours Range still completes', async () => {
  // About five cuts per file, well inside the retry budget whatever the model's size.
  const afterBytes = Math.ceil(ONNX.length / 5);
  const hub = await startHostileHub('org/flaky', modelFiles({ kind: 'cut', afterBytes }));
  try {
    const result = await textgen(['models', 'pull', 'org/flaky'], {
      ...box.env,
      HF_ENDPOINT: hub.endpoint,
    });
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.ok(
      hub.ranges
        .get('onnx/model.onnx')!
        .slice(1)
        .every((r) => /^bytes=[1-9]\d*-$/.test(r)),
      'every retry resumes with an open Range from the bytes it has',
    );
    const gen = await textgen(['generate', '-m', 'org/flaky', '-n', '2', 'Hi'], box.env);
    assert.equal(gen.exitCode, 0, String(gen.stderr));
  } finally {
    await hub.close();
  }
});

test('models pull: a snapshot downloads in parallel (3 GETs in flight before any answer)', async () => {
  const files = modelFiles();
  const blob = (seed: number) => ({
    data: Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * seed + 11) % 251)),
    lfs: true,
  });
  files['onnx/model.onnx_data'] = blob(3);
  files['onnx/model.onnx_data_1'] = blob(5);
  const hub = await startHostileHub('org/parallel', files, { barrier: 3 });
  try {
    const result = await textgen(['models', 'pull', 'org/parallel'], {
      ...box.env,
      HF_ENDPOINT: hub.endpoint,
    });
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.ok(hub.maxInFlight >= 3, `at most ${hub.maxInFlight} downloads at once`);
  } finally {
    await hub.close();
  }
});

test('models pull: an interrupted parallel pull resumes every part from where it stopped', async () => {
  const files = modelFiles();
  files['onnx/model.onnx_data'] = {
    data: Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + 1) % 253)),
    lfs: true,
  };
  // First pull: both big files are cut once, then answer 500, so the pull stops with both parts on disk.
  const broken = await startHostileHub('org/resume', {
    ...files,
    'onnx/model.onnx': {
      ...files['onnx/model.onnx'],
      behaviour: { kind: 'cut', afterBytes: 150_000, times: 1, thenError: true },
    },
    'onnx/model.onnx_data': {
      ...files['onnx/model.onnx_data'],
      behaviour: { kind: 'cut', afterBytes: 120_000, times: 1, thenError: true },
    },
  });
  try {
    const failed = await textgen(['models', 'pull', 'org/resume'], {
      ...box.env,
      HF_ENDPOINT: broken.endpoint,
    });
    assert.equal(failed.exitCode, 5, String(failed.stderr));
  } finally {
    await broken.close();
  }
  const parts = readdirSync(join(repoOf('org/resume'), 'blobs')).filter((f) =>
    f.endsWith('.incomplete'),
  );
  assert.equal(parts.length, 2, 'both part files are kept');
  // What reached the disk before each cut (at most the cut: bytes in flight when the socket closed
  // may be lost) is where each resume must start.
  const kept = parts
    .map((f) => statSync(join(repoOf('org/resume'), 'blobs', f)).size)
    .sort((a, b) => a - b);
  assert.ok(
    kept[0] > 0 && kept[1] <= 150_000,
    `each part holds some bytes, none past its cut: ${kept}`,
  );
  const hub = await startHostileHub('org/resume', files);
  try {
    const result = await textgen(['models', 'pull', 'org/resume'], {
      ...box.env,
      HF_ENDPOINT: hub.endpoint,
    });
    assert.equal(result.exitCode, 0, String(result.stderr));
    const resumed = ['onnx/model.onnx', 'onnx/model.onnx_data'].map((f) => hub.ranges.get(f));
    assert.deepEqual(
      resumed.map((r) => r?.length),
      [1, 1],
      `one request per file: ${JSON.stringify(resumed)}`,
    );
    assert.deepEqual(
      resumed.map((r) => Number(/^bytes=(\d+)-$/.exec(r![0])?.[1])).sort((a, b) => a - b),
      kept,
      `each file resumes where its part ends: ${JSON.stringify(resumed)}`,
    );
    const gen = await textgen(['models', 'show', 'org/resume', '--json'], box.env);
    assert.equal(gen.exitCode, 0, String(gen.stderr));
  } finally {
    await hub.close();
  }
});
