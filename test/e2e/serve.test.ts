// End to end: `textgen serve` spawned from the built CLI on 127.0.0.1:0 with a sandboxed HOME and
// cache. Greedy ids over HTTP equal `textgen generate --json` token for token; `generate --endpoint`
// and piped `chat --endpoint` print what the local commands print; Ctrl-C stops the server cleanly; a
// public bind without an API key is refused with one line.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import OpenAI from 'openai';
import { fixture, repoRoot, type TempFolder } from '../generation/fixtures.js';
import { storiesGolden, type StoriesGolden } from '../generation/goldens.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';
import { storiesWithChatTemplate } from '../server/helpers.js';

const BIN = join(repoRoot, 'bin', 'textgen.js');
const STORIES = fixture('stories260K-onnx');
let golden: StoriesGolden['prompt_once_upon_a_time_greedy_60'];

let home: string;
let env: Record<string, string>;
let chatFolder: TempFolder;
let server: ResultPromise;
let url: string;

function cli(args: string[], input = '') {
  return execa('node', [BIN, ...args], { env, extendEnv: false, reject: false, input, timeout: 60_000, stripFinalNewline: false }); // prettier-ignore
}

before(async () => {
  golden = storiesGolden().prompt_once_upon_a_time_greedy_60;
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'serve.js')))
    throw new Error('dist/ is missing: run `npm run build` before the e2e tests');
  home = mkdtempSync(join(tmpdir(), 'textgen-serve-e2e-'));
  env = { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), HF_HOME: join(home, 'hf'), HF_HUB_CACHE: join(home, 'hf', 'hub') }; // prettier-ignore
  chatFolder = storiesWithChatTemplate();
  server = execa('node', [BIN, 'serve', '--model', STORIES, '--model', chatFolder.dir, '--port', '0', '--parallel', '4'], { env, extendEnv: false, reject: false }); // prettier-ignore
  // The server says where it listens on stderr once it is ready.
  url = await new Promise<string>((resolve, reject) => {
    let text = '';
    server.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /serving .* at (http:\/\/\S+\/v1)/.exec(text);
      if (match) resolve(match[1]);
    });
    void server.then((r) => reject(new Error(`serve exited: ${String(r.stderr)}`)));
  });
});

after(async () => {
  if (server.exitCode === null) server.kill('SIGINT');
  await server;
  chatFolder?.cleanup();
  rmSync(home, { recursive: true, force: true });
});

test('greedy ids over HTTP equal `textgen generate --json` token for token', async () => {
  const client = new OpenAI({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
  const extra = { return_token_ids: true };
  const r = await client.completions.create({ model: 'stories260K-onnx', prompt: golden.prompt, max_tokens: 60, temperature: 0, logit_bias: { '1': -100 }, ...extra }); // prettier-ignore
  const local = await cli(['generate', '--model', STORIES, '--temperature', '0', '-n', '60', '--logit-bias', '1:-100', '--json', golden.prompt]); // prettier-ignore
  assert.equal(local.exitCode, 0, String(local.stderr));
  const out = JSON.parse(String(local.stdout));
  const ids = (r.choices[0] as unknown as { token_ids: number[] }).token_ids;
  assert.deepEqual(ids, out.sequences[0].token_ids);
  assert.deepEqual(ids, golden.generated_ids);
  assert.equal(r.choices[0].text, out.sequences[0].text);
  assert.equal(r.usage?.prompt_tokens, out.usage.prompt_tokens);
});

test('`generate --endpoint` prints what the local model prints', async () => {
  const args = ['--temperature', '0', '-n', '40', golden.prompt];
  const remote = await cli(['generate', '--endpoint', url, ...args]);
  const local = await cli(['generate', '--model', STORIES, ...args]);
  assert.equal(remote.exitCode, 0, String(remote.stderr));
  assert.equal(remote.stdout, local.stdout);
  assert.equal(remote.stderr, '');
  const json = await cli(['generate', '--endpoint', url, '--json', ...args]);
  assert.equal(JSON.parse(String(json.stdout)).model, 'stories260K-onnx');
});

test('piped `chat --endpoint` replies as the local chat does (the server applies the template)', async () => {
  const name = basename(chatFolder.dir);
  const args = ['--temperature', '0', '-n', '20'];
  const remote = await cli(['chat', '--endpoint', url, '--model', name, ...args], 'Tell me a story\n'); // prettier-ignore
  const local = await cli(['chat', '--model', chatFolder.dir, ...args], 'Tell me a story\n');
  assert.equal(remote.exitCode, 0, String(remote.stderr));
  assert.ok(String(remote.stdout).trim().length > 0, 'String(remote.stdout).trim().length > 0');
  assert.equal(remote.stdout, local.stdout);
});

test('a public bind without an API key is refused with one line', async () => {
  const r = await cli(['serve', '--model', STORIES, '--host', '0.0.0.0', '--port', '0']);
  assert.equal(r.exitCode, 2);
  assert.match(String(r.stderr), /^textgen: error: Refusing to listen on 0\.0\.0\.0 without an API key/); // prettier-ignore
});

test('Ctrl-C stops the server and exits 0', async () => {
  server.kill('SIGINT');
  const r = await server;
  assert.equal(r.exitCode, 0, String(r.stderr));
  assert.match(String(r.stderr), /stopping the server/);
});
