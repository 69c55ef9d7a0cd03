// The decode loops (sampleLoop, beamLoop) driven by a scripted step model: no ONNX, every row's next
// token is scripted, and the model records what the loop fed it. Checks what only the loop decides:
// finished rows are fed the pad token, rows are expanded once after one prefill for
// num_return_sequences, abort is checked between a step's tokens and the next forward, the context
// budget caps max_new_tokens, and the stats count what happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GenerationEvent } from '../../../generation/events.js';
import { resolveSettings, type SettingsLayer } from '../../../generation/settings.js';
import { beamLoop } from '../../../generation/decode/beam-loop.js';
import { sampleLoop, type LoopModel } from '../../../generation/decode/sample-loop.js';
import type { StepModel } from '../../../generation/decode/step-model.js';

const PAD = 0;
const EOS = 1;
const VOCAB = 8;
const LETTERS = '_$abcdef';

/**
 * A step model whose next token is `script(history)`: the row's logits are −20 except 10 at that
 * token (and `second(history)` at its [token, logit], when given, for beam search). It records every
 * call.
 */
class ScriptedStepModel implements StepModel {
  readonly vocabSize = VOCAB;
  rows: number[][] = [];
  readonly starts: number[][][] = [];
  readonly fed: number[][] = [];
  readonly reorders: number[][] = [];

  constructor(
    private readonly script: (history: number[]) => number,
    private readonly second?: (history: number[]) => [number, number],
  ) {}

  /** The logits this model gives after `history`. */
  row(history: number[]): Float32Array {
    const out = new Float32Array(VOCAB).fill(-20);
    if (this.second) {
      const [token, logit] = this.second(history);
      out[token] = logit;
    }
    out[this.script(history)] = 10;
    return out;
  }

  private logits(): Float32Array {
    const out = new Float32Array(this.rows.length * VOCAB);
    this.rows.forEach((history, r) => out.set(this.row(history), r * VOCAB));
    return out;
  }

  async start(prompts: number[][]): Promise<Float32Array> {
    this.starts.push(prompts.map((p) => p.slice()));
    this.rows = prompts.map((p) => p.slice());
    return this.logits();
  }

  async step(tokens: number[]): Promise<Float32Array> {
    this.fed.push(tokens.slice());
    tokens.forEach((t, r) => this.rows[r].push(t));
    return this.logits();
  }

  reorder(rows: readonly number[]): void {
    this.reorders.push([...rows]);
    this.rows = rows.map((r) => this.rows[r].slice());
  }

  startIds(prompt: number[]): number[] {
    return prompt.slice();
  }

  textContext(prompt: number[]): number[] {
    return prompt;
  }

  used(prompt: number[]): number {
    return prompt.length;
  }

  dispose(): void {}
}

function loopModel(step: StepModel, contextLength = 64): LoopModel {
  return {
    step,
    decode: (ids) => ids.map((id) => LETTERS[id]).join(''),
    contextLength,
    eosTokenIds: [EOS],
    padTokenId: PAD,
  };
}

/** Runs a loop to its end; returns every event. */
async function drain(events: AsyncGenerator<GenerationEvent>): Promise<GenerationEvent[]> {
  const out: GenerationEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

function doneOf(events: GenerationEvent[]): Extract<GenerationEvent, { type: 'done' }> {
  const done = events.at(-1);
  assert.ok(done?.type === 'done', `the last event is done, got ${done?.type}`);
  return done;
}

const greedy = (layer: SettingsLayer) => resolveSettings({ do_sample: false, ...layer });

/** Row 0 (prompt [2]) says "a b EOS"; row 1 (prompt [3]) repeats "c" forever. */
const twoRows = (history: number[]) => {
  if (history[0] === 3) return 4;
  const made = history.length - 1;
  return [2, 3, EOS][made] ?? 7;
};

test('a row that ends with EOS is fed the pad token while the other row goes on', async () => {
  const step = new ScriptedStepModel(twoRows);
  const events = await drain(
    sampleLoop(loopModel(step), {
      prompts: [[2], [3]],
      settings: greedy({ max_new_tokens: 5 }),
      isAborted: () => false,
    }),
  );
  const done = doneOf(events);
  assert.deepEqual(
    done.sequences.map((s) => [s.token_ids, s.text, s.finish_reason]),
    [
      [[2, 3, EOS], 'ab', 'eos'],
      [[4, 4, 4, 4, 4], 'ccccc', 'length'],
    ],
  );
  // Forwards after steps 1..4 (none after the last); row 0's EOS is fed, then pad (as transformers).
  assert.deepEqual(step.fed, [
    [2, 4],
    [3, 4],
    [EOS, 4],
    [PAD, 4],
  ]);
  const tokens = events.filter((e) => e.type === 'token' && e.id >= 0);
  assert.equal(tokens.length, 3 + 5, 'no token event for a finished row');
  assert.equal(done.stats.completionTokens, 8);
  assert.equal(done.stats.promptTokens, 2);
  assert.equal(done.stats.contextUsed, 1 + 3, 'prompt 0 plus its 3 generated tokens');
  assert.equal(done.stats.contextLength, 64);
});

test('num_return_sequences: one prefill, rows expanded prompt-major, each row decoded on its own', async () => {
  // Each row's next token depends only on its own history: prompt [2] counts up, [5] counts down.
  const step = new ScriptedStepModel((h) => (h[0] === 2 ? Math.min(7, h.at(-1)! + 1) : 4));
  const events = await drain(
    sampleLoop(loopModel(step), {
      prompts: [[2], [5]],
      settings: resolveSettings(
        { do_sample: true, top_k: 1, num_return_sequences: 3, seed: 1 },
        {
          max_new_tokens: 3,
        },
      ),
      isAborted: () => false,
    }),
  );
  assert.equal(step.starts.length, 1, 'one prefill for all rows');
  assert.deepEqual(step.starts[0], [[2], [5]], 'the prefill has one row per prompt');
  assert.deepEqual(step.reorders, [[0, 0, 0, 1, 1, 1]]);
  assert.deepEqual(
    doneOf(events).sequences.map((s) => s.token_ids),
    [
      [3, 4, 5],
      [3, 4, 5],
      [3, 4, 5],
      [4, 4, 4],
      [4, 4, 4],
      [4, 4, 4],
    ],
  );
  assert.deepEqual(step.fed[0], [3, 3, 3, 4, 4, 4]);
});

test('abort is checked after a step has yielded its tokens and before the next forward', async () => {
  const step = new ScriptedStepModel(() => 4);
  let checks = 0;
  const events = await drain(
    sampleLoop(loopModel(step), {
      prompts: [[2], [3]],
      settings: greedy({ max_new_tokens: 10 }),
      // Aborted from the second check on: the first step's forward happens, the second's does not.
      isAborted: () => ++checks >= 2,
    }),
  );
  assert.equal(step.fed.length, 1, 'one forward after the first step, none after the abort');
  const done = doneOf(events);
  assert.equal(done.reason, 'aborted');
  assert.deepEqual(
    done.sequences.map((s) => [s.token_ids, s.finish_reason]),
    [
      [[4, 4], 'aborted'],
      [[4, 4], 'aborted'],
    ],
  );
  assert.equal(done.stats.completionTokens, 4);
});

test('the context window caps max_new_tokens; a full window starts nothing', async () => {
  const step = new ScriptedStepModel(() => 4);
  const capped = doneOf(
    await drain(
      sampleLoop(loopModel(step, 6), {
        prompts: [[2, 3, 4, 5]],
        settings: greedy({ max_new_tokens: 50 }),
        isAborted: () => false,
      }),
    ),
  );
  assert.deepEqual(capped.sequences[0].token_ids, [4, 4]);
  assert.equal(capped.stats.contextUsed, 6);

  const idle = new ScriptedStepModel(() => 4);
  const full = doneOf(
    await drain(
      sampleLoop(loopModel(idle, 4), {
        prompts: [[2, 3, 4, 5]],
        settings: greedy({ max_new_tokens: 50 }),
        isAborted: () => false,
        cachedTokens: () => 3,
      }),
    ),
  );
  assert.equal(idle.starts.length, 0, 'no prefill when no token fits');
  assert.deepEqual(full.sequences[0].token_ids, []);
  assert.equal(full.stats.cachedTokens, 3);
  assert.equal(full.stats.promptTokens, 1, 'prompt tokens exclude the cached ones');
});

/** Σ log_softmax of the scripted logits along `tokens` after `prompt`, in float64. */
function logprobOf(step: ScriptedStepModel, prompt: number[], tokens: number[]): number {
  let sum = 0;
  tokens.forEach((token, t) => {
    const row = Array.from(step.row([...prompt, ...tokens.slice(0, t)]));
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
    sum += row[token] - lse;
  });
  return sum;
}

test('beam search: rows expanded to num_beams after one prefill, the cache follows the beams', async () => {
  // Every history prefers "a"; "b" is second with a logit that falls with the length (so no two
  // orders tie); EOS is never likely, so beams run to max_new_tokens.
  const step = new ScriptedStepModel(
    () => 2,
    (h) => [3, 9 - h.length],
  );
  const done = doneOf(
    await drain(
      beamLoop(loopModel(step), {
        prompts: [[4]],
        settings: resolveSettings({
          do_sample: false,
          num_beams: 2,
          num_return_sequences: 2,
          max_new_tokens: 3,
        }),
        isAborted: () => false,
      }),
    ),
  );
  assert.equal(step.starts.length, 1);
  assert.deepEqual(step.reorders[0], [0, 0], 'the prompt row expanded to 2 beams');
  assert.equal(step.reorders.length, 1 + 2, 'one reorder by beam index before each later forward');
  assert.deepEqual(done.sequences[0].token_ids, [2, 2, 2], 'the best beam takes "a" each step');
  assert.notDeepEqual(done.sequences[1].token_ids, done.sequences[0].token_ids);
  for (const s of done.sequences) {
    // transformers' score with length_penalty 1: Σ log p / length, here of the scripted logits.
    const expected = logprobOf(step, [4], s.token_ids) / s.token_ids.length;
    assert.ok(
      Math.abs(s.score! - expected) < 1e-5,
      `${s.token_ids}: score ${s.score} vs ${expected}`,
    );
  }
  assert.ok(
    done.sequences[0].score! > done.sequences[1].score!,
    `sorted by score: ${done.sequences.map((s) => s.score).join(', ')}`,
  );
  assert.equal(done.stats.completionTokens, 6, 'the returned sequences have 6 tokens in all');
});

test('beam search stops between steps when aborted, and says so', async () => {
  const step = new ScriptedStepModel(
    () => 2,
    () => [3, 5],
  );
  const done = doneOf(
    await drain(
      beamLoop(loopModel(step), {
        prompts: [[4]],
        settings: resolveSettings({ do_sample: false, num_beams: 2, max_new_tokens: 5 }),
        isAborted: () => true,
      }),
    ),
  );
  assert.equal(step.fed.length, 0, 'no forward after the abort');
  assert.equal(done.reason, 'aborted');
  assert.deepEqual(done.sequences[0].token_ids, [2]);
});
