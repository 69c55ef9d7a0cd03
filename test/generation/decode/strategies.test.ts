// Decoding strategies on the real stories260K model, in process: batched greedy against one prompt at
// a time, beam scores, seeded sampling, stop strings, logprobs and the Hugging Face processors'
// effects, checked against raw onnxruntime logits (ort-oracle.ts) rather than against textgen itself.
import assert from 'node:assert/strict';
import {
  loadModel,
  resolveSettings,
  type SequenceResult,
  type SettingsLayer,
  type TextGenerator,
} from '../../../generation/index.js';
import { argmax, ENDING, LogitsOracle, logSoftmax, storiesDir } from './ort-oracle.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../../shared-fixtures.js';

let model: TextGenerator;
let oracle: LogitsOracle;

before(async () => {
  model = await loadModel(storiesDir, { inProcess: true, threads: 1 });
  oracle = await LogitsOracle.open();
});
after(async () => {
  await model.dispose();
  await oracle.release();
});

interface Run {
  sequences: SequenceResult[];
  /** Concatenated token-event text per sequence (what a streaming client shows). */
  streamed: string[];
}

async function generate(prompt: string | string[], layer: SettingsLayer): Promise<Run> {
  const settings = resolveSettings(model.info.generationDefaults, layer);
  const prompts = Array.isArray(prompt) ? prompt : undefined;
  const streamed: string[] = [];
  for await (const event of model.generate({
    prompt: prompts ? '' : (prompt as string),
    prompts,
    settings,
  })) {
    if (event.type === 'token')
      streamed[event.sequence] = (streamed[event.sequence] ?? '') + event.text;
    if (event.type === 'done') return { sequences: event.sequences, streamed };
  }
  throw new Error('no done event');
}

const greedy = (n: number, extra: SettingsLayer = {}): SettingsLayer => ({
  temperature: 0,
  max_new_tokens: n,
  ...extra,
});

const PROMPTS = [
  '',
  'Sam',
  'The dog',
  'Mom said no',
  'Once upon a time',
  'One day, a little bird',
  'The sun was hot and the cat was',
  'Lily and Tom went to the park to play with a big red ball',
  ENDING,
];

test('left-padded batched greedy equals greedy one prompt at a time (9 prompt lengths, one row ends early)', async () => {
  const lengths = await Promise.all(PROMPTS.map((p) => model.tokenize(p)));
  assert.equal(new Set(lengths.map((ids) => ids.length)).size, PROMPTS.length);
  const batched = await generate(PROMPTS, greedy(40));
  assert.equal(batched.sequences.length, PROMPTS.length);
  for (const [i, prompt] of PROMPTS.entries()) {
    const single = await generate(prompt, greedy(40));
    assert.deepEqual(batched.sequences[i].token_ids, single.sequences[0].token_ids, `prompt ${i}`);
    assert.equal(batched.sequences[i].text, single.sequences[0].text, `prompt ${i}`);
  }
  // The ending row stops on EOS while the others run on: rows fed padding must not disturb the rest.
  assert.equal(batched.sequences[PROMPTS.length - 1].finish_reason, 'eos');
  assert.ok(
    batched.sequences.some((s) => s.finish_reason === 'length'),
    "batched.sequences.some((s) => s.finish_reason === 'length')",
  );
});

test('batched beam search equals beam search one prompt at a time', async () => {
  const prompts = PROMPTS.slice(1, 5).concat(ENDING);
  const layer = { do_sample: false, num_beams: 3, num_return_sequences: 2, max_new_tokens: 24 };
  const batched = (await generate(prompts, layer)).sequences;
  assert.equal(batched.length, prompts.length * 2);
  for (const [i, prompt] of prompts.entries()) {
    const single = (await generate(prompt, layer)).sequences;
    single.forEach((s, j) => {
      assert.deepEqual(batched[i * 2 + j].token_ids, s.token_ids, `prompt ${i} beam ${j}`);
      assert.ok(
        Math.abs(batched[i * 2 + j].score! - s.score!) < 1e-5,
        'Math.abs(batched[i * 2 + j].score! - s.score!) < 1e-5',
      );
    });
  }
});

test('greedy (and num_beams 1) takes the argmax of the raw logits at every step', async () => {
  const prompt = 'Once upon a time';
  const ids = await model.tokenize(prompt);
  const plain = await generate(prompt, greedy(16));
  const oneBeam = await generate(prompt, { do_sample: false, num_beams: 1, max_new_tokens: 16 });
  assert.deepEqual(oneBeam.sequences[0].token_ids, plain.sequences[0].token_ids);
  const rows = await oracle.teacherForced(ids, plain.sequences[0].token_ids);
  assert.deepEqual(plain.sequences[0].token_ids, rows.map(argmax));
});

test('beam search returns num_return_sequences beams sorted by score = Σ logprob / length (EOS counted)', async () => {
  const cases: Array<[string, number, number, number]> = [
    ['Lily and', 2, 2, 12],
    ['Lily and', 3, 3, 12],
    ['Lily and', 4, 4, 12],
    ['Lily and', 4, 2, 12],
    [ENDING, 2, 2, 30],
  ];
  const reasons = new Set<string>();
  for (const [prompt, beams, returned, maxNew] of cases) {
    const ids = await model.tokenize(prompt);
    const { sequences } = await generate(prompt, {
      do_sample: false,
      num_beams: beams,
      num_return_sequences: returned,
      max_new_tokens: maxNew,
    });
    assert.equal(sequences.length, returned, `num_beams ${beams}`);
    const scores = sequences.map((s) => s.score!);
    assert.deepEqual(
      scores,
      [...scores].sort((a, b) => b - a),
      `num_beams ${beams}: sorted by score`,
    );
    assert.equal(
      new Set(sequences.map((s) => s.token_ids.join())).size,
      returned,
      'distinct beams',
    );
    for (const s of sequences) {
      reasons.add(s.finish_reason);
      const rows = await oracle.teacherForced(ids, s.token_ids);
      const sum = s.token_ids.reduce((a, id, t) => a + logSoftmax(rows[t])[id], 0);
      assert.ok(
        Math.abs(s.score! - sum / s.token_ids.length) < 1e-4,
        `score ${s.score} vs ${sum / s.token_ids.length}`,
      );
    }
  }
  assert.deepEqual([...reasons].sort(), ['eos', 'length']);
});

test('seeded sampling is reproducible, and another seed gives other tokens', async () => {
  const layer = { do_sample: true, temperature: 1, max_new_tokens: 30, num_return_sequences: 3 };
  const a = await generate('Lily and', { ...layer, seed: 1234 });
  const b = await generate('Lily and', { ...layer, seed: 1234 });
  const c = await generate('Lily and', { ...layer, seed: 4321 });
  assert.deepEqual(
    b.sequences.map((s) => s.token_ids),
    a.sequences.map((s) => s.token_ids),
  );
  assert.notDeepEqual(
    c.sequences.map((s) => s.token_ids),
    a.sequences.map((s) => s.token_ids),
  );
  assert.ok(
    new Set(a.sequences.map((s) => s.token_ids.join())).size > 1,
    'the returned sequences of one call differ',
  );
});

test('a stop string is never shown, streamed or final, also when it spans tokens', async () => {
  const prompt = 'Once upon a time';
  const free = (await generate(prompt, greedy(30))).sequences[0];
  const pieces = await Promise.all(free.token_ids.map((id) => model.detokenize([id])));
  for (const stop of ['girl', 'named Lily', '.']) {
    const at = free.text.indexOf(stop);
    assert.ok(at > 0, `'${stop}' occurs in the free text`);
    const run = await generate(prompt, greedy(30, { stop: [stop] }));
    const s = run.sequences[0];
    assert.equal(s.finish_reason, 'stop');
    assert.equal(s.text, free.text.slice(0, at));
    assert.equal(run.streamed[0], s.text);
    assert.ok(!run.streamed[0].includes(stop), '!run.streamed[0].includes(stop)');
  }
  // The first two stop strings are spread over several tokens ('girl' is 'g' + 'ir' + 'l').
  assert.ok(
    pieces.every((p) => !p.includes('girl') && !p.includes('named Lily')),
    "pieces.every((p) => !p.includes('girl') && !p.includes('named Lily'))",
  );
});

test('logprobs: greedy picks top[0]; the distribution is the processed one', async () => {
  const prompt = 'Lily and';
  const g = (await generate(prompt, greedy(10, { logprobs: 5 }))).sequences[0];
  assert.equal(g.logprobs!.length, g.token_ids.length);
  g.logprobs!.forEach((lp, t) => {
    assert.equal(lp.token_id, g.token_ids[t]);
    assert.equal(lp.top.length, 5);
    assert.deepEqual(lp.top[0], { token_id: lp.token_id, token: lp.token, logprob: lp.logprob });
  });
  const k3 = await generate(prompt, {
    do_sample: true,
    top_k: 3,
    seed: 5,
    max_new_tokens: 10,
    num_return_sequences: 2,
    logprobs: 5,
  });
  for (const s of k3.sequences) {
    for (const lp of s.logprobs!) {
      assert.equal(lp.top.length, 3);
      assert.ok(
        lp.top.some((x) => x.token_id === lp.token_id),
        'lp.top.some((x) => x.token_id === lp.token_id)',
      );
      assert.ok(
        Math.abs(lp.top.reduce((a, x) => a + Math.exp(x.logprob), 0) - 1) < 1e-6,
        'Math.abs(lp.top.reduce((a, x) => a + Math.exp(x.logprob), 0) - 1) < 1e-6',
      );
    }
  }
  const off = await generate(prompt, greedy(3));
  assert.equal(off.sequences[0].logprobs, undefined);
});

test('logprobs at temperature 0.5 equal log_softmax(raw logits / 0.5) at every step', async () => {
  const prompt = 'Lily and';
  const ids = await model.tokenize(prompt);
  const { sequences } = await generate(prompt, {
    temperature: 0.5,
    seed: 9,
    max_new_tokens: 12,
    logprobs: 3,
  });
  const s = sequences[0];
  const rows = await oracle.teacherForced(ids, s.token_ids);
  s.logprobs!.forEach((lp, t) => {
    const expected = logSoftmax(rows[t].map((x) => x / 0.5));
    assert.ok(
      Math.abs(lp.logprob - expected[lp.token_id]) < 1e-4,
      `step ${t}: ${lp.logprob} vs ${expected[lp.token_id]}`,
    );
    for (const alt of lp.top)
      assert.ok(
        Math.abs(alt.logprob - expected[alt.token_id]) < 1e-4,
        'Math.abs(alt.logprob - expected[alt.token_id]) < 1e-4',
      );
  });
});

test('repetition_penalty 1.3 changes greedy, and each token is the argmax of the penalised raw logits', async () => {
  const prompt = 'Once upon a time';
  const ids = await model.tokenize(prompt);
  const plain = (await generate(prompt, greedy(30))).sequences[0].token_ids;
  const penalised = (await generate(prompt, greedy(30, { repetition_penalty: 1.3 }))).sequences[0]
    .token_ids;
  assert.notDeepEqual(penalised, plain);
  const rows = await oracle.teacherForced(ids, penalised);
  rows.forEach((row, t) => {
    const seen = new Set([...ids, ...penalised.slice(0, t)]);
    const scored = row.map((x, id) => (seen.has(id) ? (x < 0 ? x * 1.3 : x / 1.3) : x));
    assert.equal(penalised[t], argmax(scored), `step ${t}`);
  });
});

test('no_repeat_ngram_size 2: no bigram of ids occurs twice in prompt + output', async () => {
  const prompt = 'Once upon a time';
  const ids = await model.tokenize(prompt);
  const plain = (await generate(prompt, greedy(60))).sequences[0].token_ids;
  const out = (await generate(prompt, greedy(60, { no_repeat_ngram_size: 2 }))).sequences[0]
    .token_ids;
  const bigrams = (xs: number[]) => xs.slice(1).map((x, i) => `${xs[i]},${x}`);
  const hasRepeat = (xs: number[]) => new Set(bigrams(xs)).size < bigrams(xs).length;
  assert.ok(
    hasRepeat([...ids, ...plain]),
    'plain greedy repeats a bigram (the check below means something)',
  );
  assert.equal(out.length, 60);
  assert.ok(!hasRepeat([...ids, ...out]), '!hasRepeat([...ids, ...out])');
});

test('min_new_tokens 50 keeps a story going past its early EOS', async () => {
  const plain = (await generate(ENDING, greedy(120))).sequences[0];
  assert.equal(plain.finish_reason, 'eos');
  assert.ok(plain.token_ids.length < 50, `plain greedy stops at ${plain.token_ids.length}`);
  const held = (await generate(ENDING, greedy(120, { min_new_tokens: 50 }))).sequences[0];
  const firstEos = held.token_ids.findIndex((id) => model.info.eosTokenIds.includes(id));
  assert.ok(held.token_ids.length >= 50, 'held.token_ids.length >= 50');
  assert.ok(firstEos === -1 || firstEos >= 50, `first EOS at index ${firstEos}`);
});

test('suppress_tokens and a multi-token bad_words_ids sequence never appear', async () => {
  const prompt = 'Once upon a time';
  const ids = await model.tokenize(prompt);
  const plain = (await generate(prompt, greedy(40))).sequences[0].token_ids;
  const suppressed = [plain[0], plain[3]];
  const out = (await generate(prompt, greedy(40, { suppress_tokens: suppressed }))).sequences[0]
    .token_ids;
  assert.ok(
    out.every((id) => !suppressed.includes(id)),
    'out.every((id) => !suppressed.includes(id))',
  );
  const bad = plain.slice(5, 7);
  const banned = (await generate(prompt, greedy(40, { bad_words_ids: [bad] }))).sequences[0]
    .token_ids;
  assert.notDeepEqual(banned, plain);
  const all = [...ids, ...banned];
  assert.ok(
    all.every((id, i) => i < ids.length || all[i - 1] !== bad[0] || id !== bad[1]),
    `[${bad}] was generated`,
  );
});
