// The continuous-batching scheduler over a scripted step model whose logits depend only on each row's
// own history: joins at the next step, leaves when done, the --parallel bound, the FIFO queue, static
// mode, n rows per request, whole-model turns, and aborts (running and queued) taking effect before
// the next step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchScheduler,
  type BatchJob,
  type BatchStepModel,
} from '../../../generation/decode/batch-scheduler.js';
import type { GenerationEvent } from '../../../generation/events.js';
import { resolveSettings, type SettingsLayer } from '../../../generation/index.js';

const VOCAB = 16;
const EOS = 15;

/** The scripted next token of a history (never EOS unless the history sums to a multiple of 40). */
function scripted(history: number[]): number {
  const sum = history.reduce((a, b) => a + b, 0);
  if (history.length > 3 && sum % 40 === 0) return EOS;
  return (sum * 5 + history.length) % 15;
}

/** A batch of rows, each a token history; logits are one-hot at {@link scripted}. */
class ScriptedRows implements BatchStepModel {
  readonly vocabSize = VOCAB;
  rows: number[][] = [];
  /** Rows in the batch at each step, and the prompts of each add, in call order. */
  readonly log: Array<{ step: number[][] } | { add: number[][] }> = [];
  steps = 0;
  /** Called at the start of each step (the test flips abort flags here). */
  onStep?: (step: number) => void;

  constructor(
    readonly mode: 'continuous' | 'static' = 'continuous',
    readonly padding = true,
  ) {}

  private logits(rows: number[][]): Float32Array {
    const out = new Float32Array(rows.length * VOCAB);
    rows.forEach((h, r) => (out[r * VOCAB + scripted(h)] = 1));
    return out;
  }

  async add(prompts: number[][], copies: number[]): Promise<Float32Array> {
    if (this.mode === 'static' && this.rows.length > 0) throw new Error('static batch is busy');
    await Promise.resolve();
    this.log.push({ add: prompts.map((p) => p.slice()) });
    const added = prompts.flatMap((p, i) => Array.from({ length: copies[i] }, () => p.slice()));
    this.rows.push(...added);
    return this.logits(added);
  }

  async step(tokens: number[]): Promise<Float32Array> {
    assert.equal(tokens.length, this.rows.length);
    this.onStep?.(++this.steps);
    await Promise.resolve();
    tokens.forEach((t, r) => this.rows[r].push(t));
    this.log.push({ step: this.rows.map((r) => r.slice()) });
    return this.logits(this.rows);
  }

  drop(rows: number[]): void {
    const gone = new Set(rows);
    this.rows = this.rows.filter((_, i) => !gone.has(i));
  }

  dispose(): void {
    this.rows = [];
  }
}

const facts = {
  vocabSize: VOCAB,
  decode: (ids: number[]) => ids.map((i) => String.fromCharCode(97 + i)).join(''),
  contextLength: 64,
};

function job(prompt: number[], layer: SettingsLayer = {}, isAborted = () => false): BatchJob {
  const settings = resolveSettings({ do_sample: false, max_new_tokens: 8, ...layer });
  return { prompt, settings: { ...settings, eos_token_id: [EOS] }, isAborted };
}

/** What a sequential run produces: the scripted chain from the prompt. */
function expected(prompt: number[], max: number): number[] {
  const h = prompt.slice();
  const out: number[] = [];
  while (out.length < max) {
    const t = scripted(h);
    out.push(t);
    h.push(t);
    if (t === EOS) break;
  }
  return out;
}

interface Result {
  ids: number[][];
  done: Extract<GenerationEvent, { type: 'done' }>;
}

async function collect(events: AsyncIterable<GenerationEvent>): Promise<Result> {
  const ids: number[][] = [];
  for await (const e of events) {
    if (e.type === 'token' && e.id >= 0) (ids[e.sequence] ??= []).push(e.id);
    if (e.type === 'done') return { ids, done: e };
  }
  throw new Error('no done event');
}

test('requests running together produce what each produces alone', async () => {
  const rows = new ScriptedRows();
  const scheduler = new BatchScheduler(rows, facts, 4);
  const prompts = [[1], [2, 3, 4], [5, 6], [7, 8, 9, 10, 11], [3]];
  const results = await Promise.all(prompts.map((p) => collect(scheduler.generate(job(p)))));
  results.forEach((r, i) => {
    assert.deepEqual(r.ids[0], expected(prompts[i], 8));
    assert.deepEqual(r.done.sequences[0].token_ids, expected(prompts[i], 8));
  });
  // Never more than 4 rows; the fifth request joined once a row was free.
  for (const entry of rows.log)
    if ('step' in entry) assert.ok(entry.step.length <= 4, 'entry.step.length <= 4');
  assert.equal(scheduler.status().running, 0);
  assert.equal(rows.rows.length, 0);
});

test('a request joins at the next decode step and leaves as soon as it is done', async () => {
  const rows = new ScriptedRows();
  const scheduler = new BatchScheduler(rows, facts, 4);
  let late: Promise<Result> | undefined;
  rows.onStep = (step) => {
    if (step === 3) late = collect(scheduler.generate(job([9, 9], { max_new_tokens: 2 })));
  };
  const first = await collect(scheduler.generate(job([1], { max_new_tokens: 10 })));
  const second = await late!;
  assert.deepEqual(first.ids[0], expected([1], 10));
  assert.deepEqual(second.ids[0], expected([9, 9], 2));
  // The late prompt was prefilled right after step 3, fed in step 4 only, and gone by step 5.
  const order = rows.log.map((e) => ('add' in e ? `add ${e.add.length}` : `step ${e.step.length}`));
  assert.deepEqual(order.slice(0, 7), [
    'add 1',
    'step 1',
    'step 1',
    'step 1',
    'add 1',
    'step 2',
    'step 1',
  ]);
});

test('an aborted row is dropped before the next step; a queued request never takes a row', async () => {
  const rows = new ScriptedRows();
  const scheduler = new BatchScheduler(rows, facts, 1);
  let abortRunning = false;
  let abortQueued = false;
  rows.onStep = (step) => {
    if (step === 4) abortRunning = true;
    if (step === 2) abortQueued = true;
  };
  const running = collect(
    scheduler.generate(
      job([1], { max_new_tokens: 50, suppress_tokens: [EOS] }, () => abortRunning),
    ),
  );
  const queued = collect(scheduler.generate(job([2], {}, () => abortQueued)));
  const after = collect(scheduler.generate(job([3], { max_new_tokens: 2 })));
  const [a, q, b] = await Promise.all([running, queued, after]);
  assert.equal(a.done.reason, 'aborted');
  // Step 4 was running when the flag was set: its token is the last one (prefill token + 4 steps).
  assert.equal(a.ids[0].length, 5);
  assert.equal(q.done.reason, 'aborted');
  assert.equal(q.ids.length, 0);
  assert.deepEqual(b.ids[0], expected([3], 2));
  assert.ok(
    rows.log.every((e) => !('add' in e) || e.add[0][0] !== 2),
    "rows.log.every((e) => !('add' in e) || e.add[0][0] !== 2)",
  );
  // The step after the abort fed only the next request's row.
  const steps = rows.log.filter((e): e is { step: number[][] } => 'step' in e);
  assert.deepEqual(
    steps.slice(4).map((s) => s.step.map((h) => h[0])),
    [[3]],
  );
});

test('the queue waits while --parallel rows are busy, and the status says so', async () => {
  const rows = new ScriptedRows();
  const scheduler = new BatchScheduler(rows, facts, 2);
  const seen: Array<{ running: number; waiting: number; rows: number }> = [];
  scheduler.onStatus = (s) => seen.push({ running: s.running, waiting: s.waiting, rows: s.rows });
  await Promise.all(
    [[1], [2], [3], [4]].map((p) => collect(scheduler.generate(job(p, { max_new_tokens: 3 })))),
  );
  assert.ok(
    seen.some((s) => s.running === 2 && s.waiting === 2),
    'seen.some((s) => s.running === 2 && s.waiting === 2)',
  );
  assert.ok(
    seen.every((s) => s.rows <= 2),
    'seen.every((s) => s.rows <= 2)',
  );
  assert.deepEqual(seen.at(-1), { running: 0, waiting: 0, rows: 0 });
  assert.equal(scheduler.status().mode, 'continuous');
});

test('n sequences take n rows and are sampled in row order as the sequential loop does', async () => {
  const rows = new ScriptedRows();
  const scheduler = new BatchScheduler(rows, facts, 8);
  const layer = { do_sample: true, seed: 5, num_return_sequences: 3, max_new_tokens: 6 };
  const together = await collect(scheduler.generate(job([1, 2], layer)));
  assert.equal(together.done.sequences.length, 3);
  assert.equal(rows.log[0] && 'add' in rows.log[0] ? rows.log[0].add.length : 0, 1);
  // The same seed alone, or beside another request, gives the same sequences.
  const [again] = await Promise.all([
    collect(scheduler.generate(job([1, 2], layer))),
    collect(scheduler.generate(job([4], { max_new_tokens: 3 }))),
  ]);
  assert.deepEqual(again.ids, together.ids);
});

test('static mode starts a batch only when it is empty, grouping equal-length prompts', async () => {
  const rows = new ScriptedRows('static', false);
  const scheduler = new BatchScheduler(rows, facts, 4);
  const prompts = [[1, 2], [3, 4], [5], [6, 7]];
  const results = await Promise.all(
    prompts.map((p) => collect(scheduler.generate(job(p, { max_new_tokens: 3 })))),
  );
  results.forEach((r, i) => assert.deepEqual(r.ids[0], expected(prompts[i], 3)));
  const adds = rows.log.filter((e): e is { add: number[][] } => 'add' in e).map((e) => e.add);
  assert.deepEqual(adds, [
    [
      [1, 2],
      [3, 4],
    ],
    [[5]],
    [[6, 7]],
  ]);
  assert.equal(scheduler.status().mode, 'static');
});

test('whole-model work waits for the rows in flight and holds back later requests', async () => {
  const rows = new ScriptedRows();
  const scheduler = new BatchScheduler(rows, facts, 4);
  let seenAlone: { rows: number; adds: number } | undefined;
  const first = collect(scheduler.generate(job([1], { max_new_tokens: 4 })));
  const alone = (async () => {
    const work = async function* (): AsyncGenerator<GenerationEvent> {
      seenAlone = { rows: rows.rows.length, adds: rows.log.filter((e) => 'add' in e).length };
      yield { type: 'token', sequence: 0, id: 0, text: '' };
    };
    for await (const e of scheduler.alone(work)) assert.equal(e.type, 'token');
  })();
  const later = collect(scheduler.generate(job([2], { max_new_tokens: 2 })));
  await Promise.all([first, alone, later]);
  // The first request had finished (no rows left) and the later one was not started yet.
  assert.deepEqual(seenAlone, { rows: 0, adds: 1 });
  assert.equal(rows.log.filter((e) => 'add' in e).length, 2);
});

test('a consumer that stops reading cancels its request', async () => {
  const rows = new ScriptedRows();
  const scheduler = new BatchScheduler(rows, facts, 2);
  let tokens = 0;
  for await (const e of scheduler.generate(
    job([1], { max_new_tokens: 40, suppress_tokens: [EOS] }),
  )) {
    if (e.type === 'token' && ++tokens === 2) break;
  }
  const next = await collect(scheduler.generate(job([2], { max_new_tokens: 2 })));
  assert.deepEqual(next.ids[0], expected([2], 2));
  assert.ok(rows.steps < 40, 'rows.steps < 40');
});

test('a request that fails is reported to its consumer only', async () => {
  const rows = new ScriptedRows();
  const scheduler = new BatchScheduler(rows, facts, 4);
  const bad = collect(scheduler.generate(job([1], { logit_bias: { 99: 1 } })));
  await assert.rejects(bad, /logit_bias/);
  const good = await collect(scheduler.generate(job([1], { max_new_tokens: 3 })));
  assert.deepEqual(good.ids[0], expected([1], 3));
});
