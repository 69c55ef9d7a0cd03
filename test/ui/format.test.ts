import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusText } from '../../ui/format.js';
import type { GenerationStats } from '../../generation/events.js';

const stats: GenerationStats = {
  promptTokens: 10,
  cachedTokens: 0,
  completionTokens: 5,
  ttftMs: 12.4,
  prefillMs: 10,
  decodeMs: 20,
  promptTokensPerSecond: 1000,
  tokensPerSecond: 123.456,
  contextUsed: 15,
  contextLength: 512,
};

test('statusText before and after a reply, with reuse and while busy', () => {
  assert.equal(
    statusText({ model: 'm', device: 'cpu', contextLength: 512, busy: false }),
    'm · cpu · ctx 0/512 · TTFT — · — tok/s',
  );
  assert.equal(
    statusText({ model: 'm', device: 'cpu', contextLength: 512, busy: false, stats }),
    'm · cpu · ctx 15/512 · TTFT 12 ms · 123.5 tok/s',
  );
  assert.equal(
    statusText({
      model: 'm',
      device: 'cuda',
      contextLength: 512,
      busy: true,
      stats: { ...stats, cachedTokens: 8 },
    }),
    'm · cuda · ctx 15/512 (reused 8) · TTFT 12 ms · 123.5 tok/s · generating… (Ctrl-C stops)',
  );
});
