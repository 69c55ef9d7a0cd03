// Tests for the streaming stop-string matcher. Expected outputs follow its definition: text is cut
// where the first stop string (by end position, longest on a tie) completes; only the longest
// suffix that is a proper prefix of a stop string is held back; the stop string is never emitted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopStringMatcher } from '../../../generation/decode/stop-strings.js';

/** Pushes deltas and records each step, then the flush. */
function stream(stops: string[], deltas: string[]) {
  const m = new StopStringMatcher(stops);
  const steps = deltas.map((d) => m.push(d));
  return {
    steps: steps.map((s) => [s.emit, s.stopped]),
    flush: m.flush(),
    matched: m.matched,
    text: steps.map((s) => s.emit).join(''),
  };
}

test('a stop string split over three tokens is held back and never printed', () => {
  const r = stream(['<|end|>'], ['Hello <|', 'en', 'd|> more']);
  assert.deepEqual(r.steps, [
    ['Hello ', false],
    ['', false],
    ['', true],
  ]);
  assert.equal(r.flush, '');
  assert.equal(r.matched, '<|end|>');
});

test('only text that could still become a stop string is held back', () => {
  const cases: Array<{
    stops: string[];
    deltas: string[];
    steps: Array<[string, boolean]>;
    flush: string;
  }> = [
    {
      stops: ['abc'],
      deltas: ['xab', 'd'],
      steps: [
        ['x', false],
        ['abd', false],
      ],
      flush: '',
    },
    {
      stops: ['abc'],
      deltas: ['xa', 'a'],
      steps: [
        ['x', false],
        ['a', false],
      ],
      flush: 'a',
    },
    { stops: ['</s>'], deltas: ['hi <'], steps: [['hi ', false]], flush: '<' },
    {
      stops: ['\n\n'],
      deltas: ['a\n', 'b\n', '\nc'],
      steps: [
        ['a', false],
        ['\nb', false],
        ['', true],
      ],
      flush: '',
    },
    {
      stops: ['xyz'],
      deltas: ['plain', ' text'],
      steps: [
        ['plain', false],
        [' text', false],
      ],
      flush: '',
    },
  ];
  for (const c of cases) {
    const r = stream(c.stops, c.deltas);
    assert.deepEqual(
      { steps: r.steps, flush: r.flush },
      { steps: c.steps, flush: c.flush },
      JSON.stringify(c.deltas),
    );
  }
});

test('overlapping candidates: the stop that completes first wins; on the same end, the longest', () => {
  const cases: Array<{ stops: string[]; deltas: string[]; text: string; matched: string }> = [
    { stops: ['abcd', 'bc'], deltas: ['ab', 'c', 'd'], text: 'a', matched: 'bc' },
    { stops: ['abc', 'b'], deltas: ['abc'], text: 'a', matched: 'b' },
    { stops: ['b', 'ab'], deltas: ['xab'], text: 'x', matched: 'ab' },
    { stops: ['aab'], deltas: ['a', 'a', 'a', 'b'], text: 'a', matched: 'aab' },
    { stops: ['END', 'STOP'], deltas: ['go S', 'TO', 'P END'], text: 'go ', matched: 'STOP' },
  ];
  for (const c of cases) {
    const r = stream(c.stops, c.deltas);
    assert.deepEqual([r.text, r.matched], [c.text, c.matched], JSON.stringify(c));
  }
});

test('a stop at the very start emits nothing, and nothing after it', () => {
  const m = new StopStringMatcher(['###']);
  assert.deepEqual(m.push('###hi'), { emit: '', stopped: true });
  assert.deepEqual(m.push('more'), { emit: '', stopped: true });
  assert.equal(m.flush(), '');
  assert.equal(m.stopped, true);
});

test('the output does not depend on how the text is split into deltas', () => {
  const stops = ['aab', '<eot>', 'ba'];
  for (const text of ['xaaab tail', 'a <eo <eot> z', 'cab', 'no stop here <eo']) {
    const whole = stream(stops, [text]);
    const expected = whole.text + whole.flush;
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        const r = stream(stops, [text.slice(0, i), text.slice(i, j), text.slice(j)]);
        assert.equal(r.text + r.flush, expected, `${text} split at ${i},${j}`);
      }
    }
  }
});

test('empty stop strings are rejected', () => {
  assert.throws(() => new StopStringMatcher(['ok', '']), RangeError);
});
