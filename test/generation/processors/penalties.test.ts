// Table tests for the seen-token penalties. Expected rows are derived by hand from the definitions:
// transformers' RepetitionPenaltyLogitsProcessor: `score < 0 ? score * penalty : score / penalty`,
// once per distinct id of prompt + generated; OpenAI: logit -= presence·[count>0] + frequency·count
// over generated ids only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  presenceFrequencyPenalty,
  repetitionPenalty,
} from '../../../generation/processors/penalties.js';
import { NEG, run } from './helpers.js';

test('repetition_penalty divides positive, multiplies negative, once per distinct id (prompt included)', () => {
  const cases: Array<{
    name: string;
    penalty: number;
    logits: number[];
    ids: number[];
    promptLength: number;
    want: number[];
  }> = [
    {
      name: 'generated repeats',
      penalty: 2,
      logits: [2, -1, 0.5, 3, 0],
      ids: [0, 1, 1, 4],
      promptLength: 0,
      want: [1, -2, 0.5, 3, 0],
    },
    {
      name: 'prompt ids count too',
      penalty: 2,
      logits: [2, -1, 0.5, 3, 0],
      ids: [3, 2],
      promptLength: 2,
      want: [2, -1, 0.25, 1.5, 0],
    },
    {
      name: 'penalty < 1 rewards',
      penalty: 0.5,
      logits: [2, -1, 0.5],
      ids: [0, 1],
      promptLength: 1,
      want: [4, -0.5, 0.5],
    },
    {
      name: '-inf stays -inf',
      penalty: 1.5,
      logits: [NEG, 3],
      ids: [0],
      promptLength: 0,
      want: [NEG, 3],
    },
    {
      name: 'no ids, no change',
      penalty: 3,
      logits: [1, -1],
      ids: [],
      promptLength: 0,
      want: [1, -1],
    },
  ];
  for (const c of cases) {
    assert.deepEqual(
      run(repetitionPenalty(c.penalty), c.logits, { ids: c.ids, promptLength: c.promptLength }),
      c.want,
      c.name,
    );
  }
});

test('repetition_penalty rounds like float32 torch: 1 / 1.1 stored as float32', () => {
  const [x] = run(repetitionPenalty(1.1), [1], { ids: [0] });
  assert.equal(x, Math.fround(1 / Math.fround(1.1)));
});

test('presence and frequency penalties count generated ids only', () => {
  const cases: Array<{
    name: string;
    presence: number;
    frequency: number;
    ids: number[];
    promptLength: number;
    want: number[];
  }> = [
    // id0 only in the prompt; id1 generated twice; id2 three times; id3 never.
    {
      name: 'both',
      presence: 0.5,
      frequency: 0.25,
      ids: [0, 1, 1, 2, 2, 2],
      promptLength: 1,
      want: [1, 0, -0.25, 1],
    },
    {
      name: 'presence only',
      presence: 1,
      frequency: 0,
      ids: [0, 1, 1, 2, 2, 2],
      promptLength: 1,
      want: [1, 0, 0, 1],
    },
    {
      name: 'frequency only',
      presence: 0,
      frequency: 0.5,
      ids: [0, 1, 1, 2, 2, 2],
      promptLength: 1,
      want: [1, 0, -0.5, 1],
    },
    {
      name: 'negative encourages',
      presence: -1,
      frequency: 0,
      ids: [3],
      promptLength: 0,
      want: [1, 1, 1, 2],
    },
    {
      name: 'nothing generated',
      presence: 2,
      frequency: 2,
      ids: [0, 1, 2],
      promptLength: 3,
      want: [1, 1, 1, 1],
    },
  ];
  for (const c of cases) {
    const p = presenceFrequencyPenalty(c.presence, c.frequency);
    assert.deepEqual(
      run(p, [1, 1, 1, 1], { ids: c.ids, promptLength: c.promptLength }),
      c.want,
      c.name,
    );
  }
});
