import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blobHasher } from '../../models-cache/download.js';
import { normalizeEtag, resolveUrl, headersFor } from '../../models-cache/hub-client.js';

test('LFS blobs are verified by the sha256 that names them; regular files by size only', () => {
  const hello = Buffer.from('hello\n');
  const cases: Array<[string, string | undefined]> = [
    // `sha256sum` of "hello\n"
    [
      '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
      '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
    ],
    // A regular file's etag (here `git hash-object` of "hello\n"): hubs differ in what they send, and
    // huggingface_hub does not check it, so neither does textgen.
    ['ce013625030ba8dba906f756967f9e9ca394464a', undefined],
    ['not-a-hash', undefined],
  ];
  for (const [etag, expected] of cases)
    assert.equal(blobHasher(etag)?.update(hello).digest('hex'), expected);
});

test('etags are normalized like huggingface_hub and the token stays on the endpoint origin', () => {
  const cases: Array<[string | null, string | undefined]> = [
    ['"abc"', 'abc'],
    ['W/"abc"', 'abc'],
    ['abc', 'abc'],
    [null, undefined],
    ['""', undefined],
  ];
  for (const [raw, expected] of cases) assert.equal(normalizeEtag(raw), expected);
  const config = { endpoint: 'http://127.0.0.1:1234', token: 't', timeoutMs: 1000 };
  assert.equal(headersFor(config, 'http://127.0.0.1:1234/x').authorization, 'Bearer t');
  assert.equal(headersFor(config, 'http://127.0.0.1:9999/x').authorization, undefined);
  assert.equal(headersFor(config, 'https://127.0.0.1:1234/x').authorization, undefined);
  assert.equal(
    resolveUrl(config, 'org/m', 'refs/pr/1', 'onnx/model q.onnx'),
    'http://127.0.0.1:1234/org/m/resolve/refs%2Fpr%2F1/onnx/model%20q.onnx',
  );
});
