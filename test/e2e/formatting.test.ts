// Issue 18 item 9: one byte/rate/duration formatter. A pull from a hub emulator on 127.0.0.1 prints
// sizes, rates and durations the same way `models list` and `models show` print sizes: 1024-based IEC
// units, at most three significant digits — never `473.6842105263158 B/s` or MB here and MiB there.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { formatBytes } from '../../common/format.js';
import { sharedModels } from '../models-cache/hf-layout.js';
import { serveFixture, startHub, type HubServer } from '../models-cache/hub-server.js';
import { assertBuilt, sandbox, textgen } from '../commands/models-cli.js';

let hub: HubServer;
before(async () => {
  assertBuilt();
  hub = await startHub([serveFixture('org/stories', join(sharedModels, 'stories260K-onnx'))]);
});
after(() => hub?.close());

test('pull, list and show print sizes, rates and durations in one format', async () => {
  const box = sandbox({ HF_ENDPOINT: hub.endpoint });
  try {
    const pull = await textgen(['models', 'pull', 'org/stories'], box.env);
    assert.equal(pull.exitCode, 0, String(pull.stderr));
    const list = await textgen(['models', 'list'], box.env);
    const show = await textgen(['models', 'show', 'org/stories'], box.env);
    const all = [pull.stderr, pull.stdout, list.stdout, show.stdout].map(String).join('\n');
    assert.doesNotMatch(all, /\d\.\d{3,}/, 'a number with more than two decimals');
    assert.doesNotMatch(all, /\d (KB|MB|GB|TB)\b/, 'a decimal-looking unit');
    const size = formatBytes(1082992);
    assert.equal(size, '1.03 MiB');
    // The model file's size reads the same in the pull log, the list and the details.
    assert.match(
      String(pull.stderr),
      new RegExp(
        `onnx/model\\.onnx {2}${size.replace('.', '\\.')} {2}downloaded in [\\d.]+s \\([\\d.]+ (B|KiB|MiB|GiB)/s\\)`,
      ),
    );
    assert.match(
      String(show.stdout),
      new RegExp(`onnx/model\\.onnx\\s+${size.replace('.', '\\.')}`),
    );
    assert.match(String(list.stdout), /org\/stories\s+main \(\w+\)\s+[\d.]+ MiB/);
  } finally {
    box.cleanup();
  }
});
