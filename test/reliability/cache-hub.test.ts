// Issue 18.7, the cache and the hub: the login token file is used (HF_HOME/token, HF_TOKEN_PATH;
// HF_TOKEN wins); `models rm` reports the bytes it really frees, for trained models too; `models list`
// shows the real dtype of an onnxruntime-genai folder; a model that is not cached names the exact pull
// command, and --pull (or config "auto-pull") downloads it on first use.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes } from '../../commands/models-format.js';
import { serveFixture, startHub, type HubServer } from '../models-cache/hub-server.js';
import {
  assertBuilt,
  assertOneLineError,
  fixture,
  sandbox,
  textgen,
  type Sandbox,
} from './harness.js';

const GPT2 = fixture('tiny-random-gpt2');
const GENAI = fixture('ort-genai-tiny-random-llama-fp16');
const TOKEN = 'hf_secret_login_token';
let hub: HubServer;
let box: Sandbox;
/** Files that outlive each test's sandbox (token files, corpora). */
let keep: Sandbox;

before(async () => {
  assertBuilt();
  keep = sandbox();
  hub = await startHub(
    [
      { ...serveFixture('org/private', GPT2), private: true },
      serveFixture('org/gpt2', GPT2),
      serveFixture('org/genai', GENAI),
    ],
    { token: TOKEN },
  );
});
after(async () => {
  await hub.close();
  keep.cleanup();
});

/** A fresh sandbox per test: pulls must not see each other's cache. */
function fresh(extra: Record<string, string> = {}): Sandbox {
  box?.cleanup();
  box = sandbox({ HF_ENDPOINT: hub.endpoint, ...extra });
  return box;
}
after(() => box?.cleanup());

test('the token file written by `hf auth login` ($HF_HOME/token) authorizes a pull', async () => {
  const { env } = fresh();
  const denied = await textgen(['models', 'pull', 'org/private'], env);
  assertOneLineError(denied, 4, /refused org\/private/);
  assert.match(String(denied.stderr), /hf auth login/);
  mkdirSync(env.HF_HOME, { recursive: true });
  writeFileSync(join(env.HF_HOME, 'token'), `${TOKEN}\n`);
  const pulled = await textgen(['models', 'pull', 'org/private'], env);
  assert.equal(pulled.exitCode, 0, String(pulled.stderr));
});

test('HF_TOKEN_PATH points at the token file; HF_TOKEN wins over it', async () => {
  fresh();
  const path = join(keep.root, 'elsewhere', 'my-token');
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, TOKEN);
  const viaPath = await textgen(['models', 'pull', 'org/private'], {
    ...box.env,
    HF_TOKEN_PATH: path,
  });
  assert.equal(viaPath.exitCode, 0, String(viaPath.stderr));
  writeFileSync(path, 'hf_wrong');
  const wrong = await textgen(['models', 'pull', 'org/private', '--revision', 'main'], {
    ...fresh().env,
    HF_TOKEN_PATH: path,
  });
  assertOneLineError(wrong, 4, /refused/);
  assert.match(String(wrong.stderr), /The token in .*my-token was sent but was not accepted/);
  const env = { ...box.env, HF_TOKEN_PATH: path, HF_TOKEN: TOKEN };
  assert.equal((await textgen(['models', 'pull', 'org/private'], env)).exitCode, 0);
});

test('models list shows the real dtype of a genai folder (fp16), not a guess from its name', async () => {
  const { env } = fresh();
  const pulled = await textgen(['models', 'pull', 'org/genai'], env);
  assert.equal(pulled.exitCode, 0, String(pulled.stderr));
  const list = await textgen(['models', 'list', '--json'], env);
  const model = JSON.parse(String(list.stdout)).models.find(
    (m: { id: string }) => m.id === 'org/genai',
  );
  assert.deepEqual(model.dtypes, ['fp16']);
  const table = await textgen(['models', 'list'], env);
  assert.match(String(table.stdout), /org\/genai .* fp16 /);
});

/** Bytes of the regular files in a folder tree. */
function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const stat = statSync(join(dir, name));
    if (stat.isFile()) total += stat.size;
  }
  return total;
}

test('models rm reports the bytes freed by a trained model (real files, no blobs)', async () => {
  const { env } = fresh();
  const repo = join(env.HF_HUB_CACHE, 'models--local--mine');
  const snapshot = join(repo, 'snapshots', 'local');
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
    mkdirSync(join(snapshot, f, '..'), { recursive: true });
    copyFileSync(join(GPT2, f), join(snapshot, f));
  }
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), 'local');
  const bytes = folderBytes(snapshot);
  const result = await textgen(['models', 'rm', 'local/mine', '--yes'], env);
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.match(
    String(result.stderr),
    new RegExp(`freed ${formatBytes(bytes).replace('.', '\\.')}`),
  );
  assert.doesNotMatch(String(result.stderr), /freed 0 B/);
});

test('models rm reports the bytes freed by a converted model', async () => {
  const { env } = fresh();
  const converted = await textgen(
    ['convert', fixture('stories260K-hf'), '--name', 'converted'],
    env,
  );
  assert.equal(converted.exitCode, 0, String(converted.stderr));
  // The model's data (refs/main is a few bytes of bookkeeping, not counted).
  const bytes = folderBytes(join(env.HF_HUB_CACHE, 'models--local--converted', 'snapshots'));
  const result = await textgen(['models', 'rm', 'local/converted', '--yes', '--json'], env);
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.ok(bytes > 1_000_000, `the converted model has its weights (${bytes} bytes)`);
  assert.equal(JSON.parse(String(result.stdout)).freed_bytes, bytes);
  assert.match(
    String(result.stderr),
    new RegExp(`freed ${formatBytes(bytes).replace('.', '\\.')}`),
  );
});

test('models rm counts an unfinished download part of the removed model too', async () => {
  const { env } = fresh();
  assert.equal((await textgen(['models', 'pull', 'org/gpt2'], env)).exitCode, 0);
  const repo = join(env.HF_HUB_CACHE, 'models--org--gpt2');
  writeFileSync(join(repo, 'blobs', 'abc.incomplete'), Buffer.alloc(300_000));
  const bytes = folderBytes(join(repo, 'blobs'));
  const result = await textgen(['models', 'rm', 'org/gpt2', '--yes', '--json'], env);
  assert.equal(result.exitCode, 0, String(result.stderr));
  assert.equal(JSON.parse(String(result.stdout)).freed_bytes, bytes);
});

test('a model that is not cached names the exact pull command (revision and dtype included)', async () => {
  const { env } = fresh();
  const plain = await textgen(['generate', '-m', 'org/gpt2', 'Hi'], env);
  assertOneLineError(plain, 4, /Model org\/gpt2 is not in the cache/);
  assert.match(String(plain.stderr), /`textgen models pull org\/gpt2`, or add --pull/);
  const exact = await textgen(['generate', '-m', 'org/gpt2@main', '--dtype', 'fp32', 'Hi'], env);
  assertOneLineError(exact, 4, /not in the cache/);
  assert.match(String(exact.stderr), /`textgen models pull org\/gpt2@main --dtype fp32`/);
});

test('--pull downloads a missing model on first use (generate, perplexity, chat)', async () => {
  const { env } = fresh();
  const generated = await textgen(['generate', '-m', 'org/gpt2', '--pull', '-n', '2', 'Hi'], env);
  assert.equal(generated.exitCode, 0, String(generated.stderr));
  assert.match(String(generated.stderr), /Pulling it/);
  // Cached now: no second download.
  const again = await textgen(['generate', '-m', 'org/gpt2', '--pull', '-n', '2', 'Hi'], env);
  assert.doesNotMatch(String(again.stderr), /Pulling it/);
  const corpus = join(keep.root, 'c.txt');
  writeFileSync(corpus, 'Hello world, hello world.\n');
  fresh();
  const scored = await textgen(['perplexity', '-m', 'org/gpt2', '--pull', corpus], box.env);
  assert.equal(scored.exitCode, 0, String(scored.stderr));
  fresh();
  const chat = await textgen(['chat', '-m', 'org/gpt2', '--pull', '-n', '2'], box.env, {
    input: 'Hi\n',
  });
  assert.equal(chat.exitCode, 0, String(chat.stderr));
});

test('config "auto-pull": true downloads on first use without the flag', async () => {
  const { env } = fresh();
  mkdirSync(env.TEXTGEN_CONFIG_DIR, { recursive: true });
  writeFileSync(join(env.TEXTGEN_CONFIG_DIR, 'config.json'), JSON.stringify({ 'auto-pull': true }));
  const result = await textgen(['generate', '-m', 'org/gpt2', '-n', '2', 'Hi'], env);
  assert.equal(result.exitCode, 0, String(result.stderr));
});
