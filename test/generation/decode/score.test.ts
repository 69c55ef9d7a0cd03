import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slidingWindows, tokenNll } from '../../../generation/decode/score.js';

test('slidingWindows follows the HF fixed-length recipe on hand-checked cases', () => {
  const cases: Array<{
    n: number;
    maxLength: number;
    stride: number;
    want: Array<[number, number, number]>;
  }> = [
    // begin 0: all 4 are targets, index 0 has no context; then trg_len = end - prev_end = 2 each.
    {
      n: 10,
      maxLength: 4,
      stride: 2,
      want: [
        [0, 4, 1],
        [2, 6, 2],
        [4, 8, 2],
        [6, 10, 2],
      ],
    },
    // trg_len 3 of a 4-token window: context is index 0 only.
    {
      n: 9,
      maxLength: 4,
      stride: 3,
      want: [
        [0, 4, 1],
        [3, 7, 1],
        [6, 9, 1],
      ],
    },
    // No overlap: each window's first token is context-free and skipped (labels shift by one).
    {
      n: 7,
      maxLength: 4,
      stride: 4,
      want: [
        [0, 4, 1],
        [4, 7, 1],
      ],
    },
    // The text fits in one window.
    { n: 5, maxLength: 8, stride: 4, want: [[0, 5, 1]] },
    // The last window ends exactly at n: the loop stops there, no empty tail window.
    {
      n: 8,
      maxLength: 4,
      stride: 2,
      want: [
        [0, 4, 1],
        [2, 6, 2],
        [4, 8, 2],
      ],
    },
    // A single token can't be scored.
    { n: 1, maxLength: 4, stride: 2, want: [] },
  ];
  for (const c of cases) {
    const got = slidingWindows(c.n, c.maxLength, c.stride).map((w) => [
      w.begin,
      w.end,
      w.scoreFrom,
    ]);
    assert.deepEqual(got, c.want, `n=${c.n} max=${c.maxLength} stride=${c.stride}`);
  }
});

test('with stride < maxLength every token after the first is scored exactly once', () => {
  for (const [n, maxLength, stride] of [
    [100, 16, 8],
    [37, 10, 3],
    [513, 512, 256],
    [20, 5, 4],
  ]) {
    const scored: number[] = [];
    for (const w of slidingWindows(n, maxLength, stride))
      for (let i = w.begin + w.scoreFrom; i < w.end; i++) scored.push(i);
    assert.deepEqual(
      scored,
      Array.from({ length: n - 1 }, (_, i) => i + 1),
      `n=${n} max=${maxLength} stride=${stride}`,
    );
  }
});

test('slidingWindows rejects strides that would skip tokens and degenerate lengths', () => {
  assert.throws(() => slidingWindows(10, 4, 5), RangeError);
  assert.throws(() => slidingWindows(10, 4, 0), RangeError);
  assert.throws(() => slidingWindows(10, 1, 1), RangeError);
});

test('tokenNll is -log softmax in float64, stable for large logits, on float32 and fp16 rows', () => {
  const cases: Array<{
    data: Float32Array | Uint16Array;
    row: number;
    vocab: number;
    target: number;
    want: number;
  }> = [
    { data: new Float32Array([0, 0, 0, 0]), row: 0, vocab: 4, target: 2, want: Math.log(4) },
    // ln 3 rounded to float32 is the logit actually stored: nll = ln(1 + e^x) - x.
    {
      data: new Float32Array([0, Math.log(3)]),
      row: 0,
      vocab: 2,
      target: 1,
      want: Math.log(1 + Math.exp(Math.fround(Math.log(3)))) - Math.fround(Math.log(3)),
    },
    { data: new Float32Array([9, 9, 1000, 1000]), row: 1, vocab: 2, target: 0, want: Math.log(2) },
    { data: new Float32Array([-1e4, 0, 0]), row: 0, vocab: 3, target: 0, want: 1e4 + Math.log(2) },
    // fp16 bits: 0x0000 = 0, 0x3C00 = 1.
    {
      data: new Uint16Array([0x0000, 0x3c00]),
      row: 0,
      vocab: 2,
      target: 0,
      want: Math.log(1 + Math.E),
    },
  ];
  for (const c of cases)
    assert.ok(
      Math.abs(tokenNll(c.data, c.row, c.vocab, c.target) - c.want) < 1e-9,
      JSON.stringify({ ...c, data: [...c.data] }),
    );
  assert.throws(() => tokenNll(new Float32Array(4), 0, 4, 4), RangeError);
});
