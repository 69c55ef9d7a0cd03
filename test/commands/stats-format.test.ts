// --verbose stats lines (ollama's layout) and the --json timings object, from fixed stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatVerboseStats, timingsJson } from '../../commands/stats-format.js';
import type { GenerationStats } from '../../generation/index.js';

const stats: GenerationStats = {
  promptTokens: 12,
  cachedTokens: 3,
  completionTokens: 40,
  ttftMs: 15.25,
  prefillMs: 10.04,
  decodeMs: 390.0004,
  promptTokensPerSecond: 1195.2191,
  tokensPerSecond: 100.00001,
  contextUsed: 55,
  contextLength: 512,
};

test('formatVerboseStats: one aligned line per figure, load duration only when given', () => {
  assert.equal(
    formatVerboseStats(stats, 250.5),
    [
      'load duration:        250.5ms',
      'prompt eval count:    12 token(s) (+3 cached)',
      'prompt eval duration: 10.0ms',
      'prompt eval rate:     1195.22 tokens/s',
      'time to first token:  15.3ms',
      'eval count:           40 token(s)',
      'eval duration:        390.0ms',
      'eval rate:            100.00 tokens/s',
      'context:              55/512',
      '',
    ].join('\n'),
  );
  const plain = formatVerboseStats({ ...stats, cachedTokens: 0 });
  assert.ok(!plain.includes('load duration'), plain);
  assert.match(plain, /^prompt eval count: {4}12 token\(s\)\n/);
});

test('timingsJson rounds to microseconds and adds load_ms only when given', () => {
  assert.deepEqual(timingsJson(stats, 250.5), {
    load_ms: 250.5,
    ttft_ms: 15.25,
    prefill_ms: 10.04,
    decode_ms: 390,
    prompt_tokens_per_second: 1195.219,
    tokens_per_second: 100,
  });
  assert.equal('load_ms' in timingsJson(stats), false);
});
