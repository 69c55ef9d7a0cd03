// Hand-worked beam searches (vocab 4, 2 beams) checked step by step against transformers'
// BeamSearchScorer.process / finalize and BeamHypotheses.add / is_done (4.3x–4.4x). Row scores
// are processed log-probs chosen as binary fractions, so float32 sums are exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BeamSearch, type BeamSearchOptions } from '../../../generation/decode/beam-scorer.js';

const BASE: BeamSearchOptions = {
  batchSize: 1,
  numBeams: 2,
  lengthPenalty: 1,
  earlyStopping: true,
  numReturnSequences: 2,
  eosTokenIds: [3],
  padTokenId: 2,
  maxNewTokens: 5,
};

/** Flattens per-row scores into the (rows × vocab) layout step() takes. */
const rows = (...r: number[][]) => Float32Array.from(r.flat());

test('early_stopping true: EOS ranked first finishes a hypothesis; done at num_beams hypotheses', () => {
  const beam = new BeamSearch(BASE);
  assert.deepEqual(Array.from(beam.beamScores), [0, -1e9]);
  // Step 1 (only beam 0 is live): candidates t3 −0.25 (EOS, rank 0 → hypothesis [] score −0.25/1),
  // t1 −0.5, t0 −1.
  const s1 = beam.step(rows([-1, -0.5, -2, -0.25], [-1, -0.5, -2, -0.25]), 4);
  assert.deepEqual(s1, { tokens: [1, 0], beamIndices: [0, 0], finished: false });
  assert.deepEqual(Array.from(beam.beamScores), [-0.5, -1]);
  assert.deepEqual([beam.generated(0), beam.generated(1)], [[1], [0]]);
  // Step 2: row0 [1] −0.5 + t3 −0.5 = −1 (EOS rank 0 → [1] score −1/2); row1 [0] −1 + t0 −0.25 = −1.25;
  // row0 t0 −2.5. Two hypotheses and early_stopping → done.
  const s2 = beam.step(rows([-2, -2, -2, -0.5], [-0.25, -4, -4, -4]), 4);
  assert.deepEqual(s2, { tokens: [0, 0], beamIndices: [1, 0], finished: true });
  // Finalize: best first; both are shorter than min(longest + 1, max) = 2, so EOS is appended.
  assert.deepEqual(beam.finalize(), [
    [
      { tokens: [3], score: -0.25, endedWithEos: true },
      { tokens: [1, 3], score: -0.5, endedWithEos: true },
    ],
  ]);
});

test('early_stopping false: continues while a live beam could still beat the worst hypothesis', () => {
  const beam = new BeamSearch({ ...BASE, earlyStopping: false, maxNewTokens: 3 });
  beam.step(rows([-1, -0.5, -2, -0.25], [0, 0, 0, 0]), 4); // hyp [] −0.25; beams [1] −0.5, [0] −1
  // Step 2 candidates: r0t0 −0.75, r1t3 −1.25 (EOS rank 1 → [0] score −0.625), r0t3 −1.5 (EOS rank 2:
  // skipped), r1t2 −1.5 (tie with r0t3, higher flat index). is_done: worst −0.625 >= −0.75/2? no.
  const s2 = beam.step(rows([-0.25, -4, -4, -1], [-4, -4, -0.5, -0.25]), 4);
  assert.deepEqual(s2, { tokens: [0, 2], beamIndices: [0, 1], finished: false });
  assert.deepEqual(Array.from(beam.beamScores), [-0.75, -1.5]);
  // Step 3: r0 [1,0] −0.75 + t3 −0.25 = −1 (EOS rank 0 → [1,0] score −1/3 evicts −0.625; worst −1/3);
  // is_done: −1/3 >= −1/3 → done.
  const s3 = beam.step(rows([-1, -1, -1, -0.25], [-0.5, -3, -3, -3]), 4);
  assert.deepEqual(s3, { tokens: [0, 1], beamIndices: [0, 0], finished: true });
  assert.deepEqual(beam.finalize(), [
    [
      { tokens: [3], score: -0.25, endedWithEos: true },
      { tokens: [1, 0, 3], score: -1 / 3, endedWithEos: true },
    ],
  ]);
});

test('max length: live beams join with score / length^length_penalty and get no EOS', () => {
  for (const [lengthPenalty, scores] of [
    [1, [-0.375, -0.625]],
    [2, [-0.1875, -0.3125]],
  ] as const) {
    const beam = new BeamSearch({ ...BASE, maxNewTokens: 2, lengthPenalty });
    // Step 1: t0 −0.5, t1 −1 fill the beams; the EOS candidate ranks last.
    assert.deepEqual(beam.step(rows([-0.5, -1, -2, -3], [0, 0, 0, 0]), 4).finished, false);
    // Step 2: r0t1 −0.75, r1t0 −1.25; max_new_tokens reached.
    const s2 = beam.step(rows([-1, -0.25, -3, -2], [-0.25, -2, -2, -0.5]), 4);
    assert.deepEqual(s2, { tokens: [1, 0], beamIndices: [0, 1], finished: true });
    assert.deepEqual(
      beam.finalize(),
      [
        [
          { tokens: [0, 1], score: scores[0], endedWithEos: false },
          { tokens: [1, 0], score: scores[1], endedWithEos: false },
        ],
      ],
      `length_penalty ${lengthPenalty}`,
    );
  }
});

test('num_return_sequences 1 returns only the best hypothesis', () => {
  const beam = new BeamSearch({ ...BASE, numReturnSequences: 1 });
  beam.step(rows([-1, -0.5, -2, -0.25], [0, 0, 0, 0]), 4);
  beam.step(rows([-2, -2, -2, -0.5], [-0.25, -4, -4, -4]), 4);
  assert.deepEqual(beam.finalize(), [[{ tokens: [3], score: -0.25, endedWithEos: true }]]);
});

test('batch: a done prompt is padded while the other continues; EOS rule spans the batch; ties pop the later', () => {
  const beam = new BeamSearch({ ...BASE, batchSize: 2, maxNewTokens: 3 });
  const z = [0, 0, 0, 0];
  // Prompt 0 repeats the early-stopping case; prompt 1 the max-length case.
  beam.step(rows([-1, -0.5, -2, -0.25], z, [-0.5, -1, -2, -3], z), 4);
  const s2 = beam.step(
    rows([-2, -2, -2, -0.5], [-0.25, -4, -4, -4], [-1, -0.25, -3, -2], [-0.25, -2, -2, -0.5]),
    4,
  );
  assert.deepEqual(s2, { tokens: [0, 0, 1, 0], beamIndices: [1, 0, 2, 3], finished: false });
  // Step 3: prompt 0 is done → pad tokens, own rows, zero scores. Prompt 1: r2 [0,1] −0.75 − 1 ties on
  // all four tokens; t0, t1 win by index (EOS t3 would be rank 3 anyway).
  const s3 = beam.step(rows(z, z, [-1, -1, -1, -1], [-1, -1, -1, -1]), 4);
  assert.deepEqual(s3, { tokens: [2, 2, 0, 1], beamIndices: [0, 1, 2, 2], finished: true });
  assert.deepEqual(Array.from(beam.beamScores), [0, 0, -1.75, -1.75]);
  // Prompt 1's two live beams tie at −1.75/3: Python's sorted + pop() returns the later-added first.
  // Longest returned is 3 = max_new_tokens, so only prompt 0's shorter hypotheses get EOS.
  assert.deepEqual(beam.finalize(), [
    [
      { tokens: [3], score: -0.25, endedWithEos: true },
      { tokens: [1, 3], score: -0.5, endedWithEos: true },
    ],
    [
      { tokens: [0, 1, 1], score: Math.fround(-1.75) / 3, endedWithEos: false },
      { tokens: [0, 1, 0], score: Math.fround(-1.75) / 3, endedWithEos: false },
    ],
  ]);
});

test('several EOS ids: each finishes hypotheses; finalize appends eos_token_id[0]', () => {
  const beam = new BeamSearch({ ...BASE, eosTokenIds: [2, 3] });
  // Top max(2, 1 + 2)·2 = 6 candidates: t2 −0.25 and t3 −0.5 (EOS, ranks 0–1), then t0, t1 fill the beams.
  const s1 = beam.step(rows([-1, -3, -0.25, -0.5], [0, 0, 0, 0]), 4);
  assert.deepEqual(s1, { tokens: [0, 1], beamIndices: [0, 0], finished: true });
  assert.deepEqual(beam.finalize(), [
    [
      { tokens: [2], score: -0.25, endedWithEos: true },
      { tokens: [2], score: -0.5, endedWithEos: true },
    ],
  ]);
});

test('a better EOS hypothesis evicts the worst once num_beams are kept', () => {
  const beam = new BeamSearch({
    ...BASE,
    earlyStopping: false,
    numReturnSequences: 2,
    maxNewTokens: 4,
  });
  // Step 1: EOS −2 is rank 2 (skipped); beams t0 −0.5, t1 −1.
  beam.step(rows([-0.5, -1, -4, -2], [0, 0, 0, 0]), 4);
  // Step 2: r0 t3 −0.5−0.5 = −1 (rank 0 → [0] −0.5), r1 t3 −1−0.25 = −1.25 (rank 1 → [1] −0.625);
  // r0 t0 −2.5, r0 t1 −2.5 continue. is_done: worst −0.625 >= −1/2? no.
  beam.step(rows([-2, -2, -4, -0.5], [-4, -4, -4, -0.25]), 4);
  // Step 3: r0 [0,0] −2.5 + t3 −0.25 = −2.75 (rank 0 → score −2.75/3 < worst: rejected); is_done:
  // −0.625 >= −2.75/3 → done.
  const s3 = beam.step(rows([-3, -3, -3, -0.25], [-3, -3, -3, -3]), 4);
  assert.equal(s3.finished, true);
  assert.deepEqual(
    beam.finalize().map((r) => r.map((h) => [h.tokens, h.score])),
    [
      [
        [[0, 3], -0.5],
        [[1, 3], -0.625],
      ],
    ],
  );
});
