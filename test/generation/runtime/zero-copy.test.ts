// The zero-copy cache of textgen's fused graphs. First the cache on hand-made data (writes, growth,
// reorder, rewind, appending rows of another length); then one random Llama and one GPT-2 written both
// as the optimum graph (growing cache) and as the fused graph from the same weights: every decode path
// (greedy, left-padded batches, beams, expanded rows, chat reuse, scoring, capacity growth, rows joining
// and leaving a running batch) must give the same tokens on both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectModelFolder, loadModel, type TextGenerator } from '../../../generation/index.js';
import { randomWeights } from '../../../generation/onnx-writer/decoder-common.js';
import { buildFusedDecoder, FUSED_OPSET } from '../../../generation/onnx-writer/fused-decoder.js';
import { writeMessage } from '../../../generation/onnx-writer/graph.js';
import { buildGpt2, buildLlama, OPSET } from '../../../generation/onnx-writer/llama-gpt2.js';
import { PRESETS, writeRandomModel } from '../../../generation/onnx-writer/random-model.js';
import { openModel } from '../../../generation/runtime/open-model.js';
import { DecoderRunner } from '../../../generation/runtime/decoder-runner.js';
import {
  grownCapacity,
  ZeroCopyCache,
} from '../../../generation/runtime/layouts/zero-copy-cache.js';
import { fixture, generateAll, modelShell } from '../fixtures.js';
import { sharedTest } from '../../shared-fixtures.js';

// ---- the cache on hand-made data ----

const SHAPE = { layers: 2, kvHeads: 2, headDim: 3 };
/** A value that names where it was written: layer, kind, row, head, position, component. */
const tag = (l: number, kind: number, r: number, h: number, t: number, d: number) =>
  1000 * l + 500 * kind + 100 * r + 10 * h + t + d / 10;

/** Writes positions [length, length + n) of every row as the graph outputs them (cache_new). */
function writeTagged(cache: ZeroCopyCache, n: number, rowOf = (r: number) => r): void {
  cache.reserve(cache.length + n);
  const { layers, kvHeads, headDim } = SHAPE;
  const fresh = new Float32Array(2 * layers * cache.batch * kvHeads * n * headDim);
  for (let l = 0; l < layers; l++)
    for (const kind of [0, 1])
      for (let r = 0; r < cache.batch; r++)
        for (let h = 0; h < kvHeads; h++)
          for (let i = 0; i < n; i++)
            for (let d = 0; d < headDim; d++) {
              const row = ((2 * l + kind) * cache.batch + r) * kvHeads + h;
              fresh[(row * n + i) * headDim + d] = tag(l, kind, rowOf(r), h, cache.length + i, d);
            }
  cache.write(fresh, n);
  cache.advance(n);
}

/** Asserts that row r, positions [0, length), hold the tags of source row rowOf(r). */
function assertTagged(cache: ZeroCopyCache, rowOf: (r: number) => number, length = cache.length) {
  const { headDim, kvHeads } = SHAPE;
  for (let l = 0; l < SHAPE.layers; l++)
    for (const [kind, bufs] of [cache.keys, cache.values].entries())
      for (let r = 0; r < cache.batch; r++)
        for (let h = 0; h < kvHeads; h++)
          for (let t = 0; t < length; t++)
            for (let d = 0; d < headDim; d++) {
              const at = ((r * kvHeads + h) * cache.capacity + t) * headDim + d;
              assert.equal(
                bufs[l][at],
                Math.fround(tag(l, kind, rowOf(r), h, t, d)),
                `layer ${l} kind ${kind} row ${r} head ${h} position ${t}`,
              );
            }
}

test('capacity grows by at least 64 slots (about 1/8 of the length), aligned, up to the maximum', () => {
  assert.equal(grownCapacity(1, 4096), 128);
  assert.equal(grownCapacity(128, 4096), 192);
  assert.equal(grownCapacity(1000, 4096), 1152);
  assert.equal(grownCapacity(2040, 2048), 2048);
});

test('writes land at the cached length; growth keeps every row and head', () => {
  const cache = new ZeroCopyCache(SHAPE, 2, 1000);
  writeTagged(cache, 5);
  assert.equal(cache.capacity, 128);
  assertTagged(cache, (r) => r);
  for (let i = 0; i < 130; i++) writeTagged(cache, 1);
  assert.equal(cache.length, 135);
  assert.ok(
    cache.capacity >= 135 && cache.capacity % 64 === 0,
    'cache.capacity >= 135 && cache.capacity % 64 === 0',
  );
  assertTagged(cache, (r) => r);
});

test('reorder permutes and expands rows; rewind keeps the prefix and later writes go after it', () => {
  const cache = new ZeroCopyCache(SHAPE, 2, 1000);
  writeTagged(cache, 4);
  cache.reorder([1, 1, 0]);
  assert.equal(cache.batch, 3);
  assertTagged(cache, (r) => [1, 1, 0][r]);
  cache.reorder([2, 0, 1]);
  assertTagged(cache, (r) => [0, 1, 1][r]);
  cache.rewind(2);
  assert.equal(cache.length, 2);
  writeTagged(cache, 2, (r) => [0, 1, 1][r]);
  assertTagged(cache, (r) => [0, 1, 1][r]);
});

test('appendRows joins a shorter batch after a longer one, each row keeping its own positions', () => {
  const long = new ZeroCopyCache(SHAPE, 1, 1000);
  writeTagged(long, 6);
  const short = new ZeroCopyCache(SHAPE, 2, 1000);
  writeTagged(short, 3, (r) => r + 1);
  long.appendRows(short);
  assert.equal(long.batch, 3);
  assert.equal(long.length, 6);
  assertTagged(long, (r) => r, 3);
  // Row 0 keeps positions 3..5 too; the appended rows end at 3 (the runner masks their slots 3..5).
  for (let t = 3; t < 6; t++)
    assert.equal(long.keys[0][t * SHAPE.headDim], Math.fround(tag(0, 0, 0, 0, t, 0)));
  assert.throws(() => long.appendRows(new ZeroCopyCache({ ...SHAPE, layers: 3 }, 1, 10)));
});

// ---- the fused graph against the optimum graph of the same weights ----

let root: string;
const pairs = new Map<string, { fused: TextGenerator; optimum: TextGenerator }>();
const PROMPTS = ['a', 'Once upon a time', 'Every layout must agree on this.'];

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'textgen-zero-copy-'));
  for (const preset of ['llama-tiny', 'gpt2-tiny']) {
    writeRandomModel(join(root, `${preset}-fused`), PRESETS[preset], 11, 'fused');
    writeRandomModel(join(root, `${preset}-optimum`), PRESETS[preset], 11, 'with-past');
    pairs.set(preset, {
      fused: await loadModel(join(root, `${preset}-fused`), { inProcess: true, threads: 1 }),
      optimum: await loadModel(join(root, `${preset}-optimum`), { inProcess: true, threads: 1 }),
    });
  }
});

after(async () => {
  for (const { fused, optimum } of pairs.values()) {
    await fused.dispose();
    await optimum.dispose();
  }
  rmSync(root, { recursive: true, force: true });
});

/** Token ids of every sequence of one generation. */
async function ids(
  model: TextGenerator,
  prompts: string[],
  layer: Parameters<typeof generateAll>[2] = {},
): Promise<number[][]> {
  const { done } = await generateAll(model, prompts, { max_new_tokens: 24, ...layer });
  return done.sequences.map((s) => s.token_ids);
}

for (const preset of ['llama-tiny', 'gpt2-tiny']) {
  test(`${preset}: the folder opens the fused file with the zero-copy layout`, () => {
    const { fused, optimum } = pairs.get(preset)!;
    assert.equal(inspectModelFolder(join(root, `${preset}-fused`)).layouts.fp32?.kind, 'fused');
    assert.equal(fused.info.cacheLayout, 'zero-copy');
    assert.equal(optimum.info.cacheLayout, 'growing');
    assert.deepEqual(
      fused.info.onnxFiles.map((f) => f.split('/').pop()),
      ['textgen_decoder.onnx'],
    );
  });

  test(`${preset}: greedy, left-padded batch, beams and expanded rows equal the optimum graph`, async () => {
    const { fused, optimum } = pairs.get(preset)!;
    let compared = 0;
    for (const prompt of PROMPTS) {
      const reference = await ids(optimum, [prompt]);
      compared += reference[0].length;
      assert.deepEqual(await ids(fused, [prompt]), reference, prompt);
    }
    assert.ok(compared >= 36, `only ${compared} tokens compared`);
    assert.deepEqual(await ids(fused, PROMPTS), await ids(optimum, PROMPTS), 'batch');
    const beams = { num_beams: 3, num_return_sequences: 2, max_new_tokens: 12 };
    assert.deepEqual(
      await ids(fused, [PROMPTS[1]], beams),
      await ids(optimum, [PROMPTS[1]], beams),
    );
    const rows = { do_sample: true, top_k: 1, num_return_sequences: 3, seed: 1 };
    const expanded = await ids(fused, [PROMPTS[2]], rows);
    assert.deepEqual(expanded, await ids(optimum, [PROMPTS[2]], rows));
    assert.deepEqual(
      expanded,
      [0, 1, 2].map(() => expanded[0]),
    );
  });

  test(`${preset}: teacher-forced scores and chat prefix reuse equal the optimum graph`, async () => {
    const { fused, optimum } = pairs.get(preset)!;
    const tokens = await fused.tokenize(PROMPTS[2]);
    const a = (await fused.score({ ids: tokens, scoreFrom: 1, perToken: true })).tokenNll!;
    const b = (await optimum.score({ ids: tokens, scoreFrom: 1, perToken: true })).tokenNll!;
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-4, `position ${i}: ${x} vs ${b[i]}`));
    const first = await generateAll(fused, PROMPTS[1], { max_new_tokens: 6 }, { keepCache: true });
    const extended = `${PROMPTS[1]}${first.done.sequences[0].text} and then`;
    const reused = await generateAll(fused, extended, { max_new_tokens: 16 }, { keepCache: true });
    assert.ok(reused.done.stats.cachedTokens > 0, 'reused.done.stats.cachedTokens > 0');
    const fresh = await generateAll(optimum, extended, { max_new_tokens: 16 });
    assert.deepEqual(reused.done.sequences[0].token_ids, fresh.done.sequences[0].token_ids);
  });
}

test('long generations cross several capacity growths and still equal the optimum graph', async () => {
  const spec = { ...PRESETS['llama-tiny'], maxPositions: 512 };
  writeRandomModel(join(root, 'long-fused'), spec, 5, 'fused');
  writeRandomModel(join(root, 'long-optimum'), spec, 5, 'with-past');
  const fused = await loadModel(join(root, 'long-fused'), { inProcess: true, threads: 1 });
  const optimum = await loadModel(join(root, 'long-optimum'), { inProcess: true, threads: 1 });
  try {
    const layer = { max_new_tokens: 300, min_new_tokens: 300 };
    const reference = await ids(optimum, ['x'], layer);
    assert.equal(reference[0].length, 300);
    assert.deepEqual(await ids(fused, ['x'], layer), reference);
  } finally {
    await fused.dispose();
    await optimum.dispose();
  }
});

for (const kind of ['fused', 'optimum'] as const) {
  test(`${kind}: rows appended to a running batch and dropped from it decode as they do alone`, async () => {
    const folder = inspectModelFolder(join(root, `llama-tiny-${kind}`));
    const { runner } = await openModel(folder, folder.layouts.fp32!, { threads: 1 });
    assert.ok(runner instanceof DecoderRunner, 'runner instanceof DecoderRunner');
    const prompts = [
      [5, 6, 7, 8, 9, 10],
      [11, 12],
    ];
    const alone = prompts.map(() => runner.newState(1, 128));
    const batch = runner.newState(1, 128);
    const other = runner.newState(1, 128);
    const expected: Float32Array[] = [];
    for (let i = 0; i < 2; i++) {
      await runner.forward(alone[i], [prompts[i]]);
      expected.push((await runner.forward(alone[i], [[42 + i]])).slice());
    }
    await runner.forward(batch, [prompts[0]]);
    await runner.forward(other, [prompts[1]]);
    batch.appendRows(other);
    assert.equal(batch.batch, 2);
    const joint = await runner.forward(batch, [[42], [43]]);
    const vocab = runner.vocabSize;
    for (let i = 0; i < 2; i++) {
      const row = joint.subarray(i * vocab, (i + 1) * vocab);
      row.forEach((x, v) => assert.ok(Math.abs(x - expected[i][v]) < 1e-4, `row ${i} id ${v}`));
    }
    // The first row leaves; the second keeps decoding as it would alone.
    batch.dropRows([1]);
    const next = await runner.forward(batch, [[44]]);
    const solo = await runner.forward(alone[1], [[44]]);
    next.forEach((x, v) => assert.ok(Math.abs(x - solo[v]) < 1e-4, `after drop, id ${v}`));
    for (const s of [...alone, batch, other]) s.dispose();
  });
}

sharedTest(
  'multi-token extension is probed once, when first needed: the genai fp16 Llama extends token by token',
  async () => {
    const cases: Array<[string, boolean | undefined, boolean]> = [
      [fixture('ort-genai-tiny-random-llama-fp16'), undefined, false],
      [join(root, 'llama-tiny-optimum'), undefined, true],
      [join(root, 'llama-tiny-fused'), true, true],
    ];
    for (const [dir, before, after] of cases) {
      const folder = inspectModelFolder(dir);
      const { runner } = await openModel(folder, folder.layouts[folder.dtypes[0]]!, { threads: 1 });
      assert.ok(runner instanceof DecoderRunner, 'runner instanceof DecoderRunner');
      assert.equal(runner.multiTokenExtension, before, dir);
      const state = runner.newState(1, 64);
      await runner.forward(state, [[3, 4]]);
      assert.equal(runner.multiTokenExtension, before, `${dir}: a prefill needs no probe`);
      const together = (await runner.forward(state, [[5, 6, 7]])).slice();
      assert.equal(runner.multiTokenExtension, after, dir);
      // Either way the logits are those of feeding the tokens one by one.
      const apart = runner.newState(1, 64);
      let single: Float32Array = new Float32Array(0);
      for (const t of [3, 4, 5, 6, 7]) single = await runner.forward(apart, [[t]]);
      const range = Math.max(...single.map(Math.abs));
      together.forEach((x, v) =>
        assert.ok(Math.abs(x - single[v]) <= 1e-2 * range, `${dir}: id ${v} ${x} vs ${single[v]}`),
      );
      state.dispose();
      apart.dispose();
    }
  },
);

test('fp16, q8 and q4 fused graphs decode as the optimum graphs of the same dtype', async () => {
  for (const preset of ['llama-tiny', 'gpt2-tiny']) {
    const spec = PRESETS[preset];
    for (const [dtype, suffix] of [
      ['fp16', '_fp16'],
      ['q8', '_quantized'],
      ['q4', '_q4'],
    ] as const) {
      const dirs = {
        fused: join(root, `${preset}-${dtype}-f`),
        optimum: join(root, `${preset}-${dtype}-o`),
      };
      for (const dir of Object.values(dirs)) {
        modelShell(join(root, `${preset}-fused`), dir, 'copy');
        const graph =
          spec.arch === 'llama'
            ? buildLlama(spec, randomWeights(11), { dtype })
            : buildGpt2(spec, randomWeights(11), { dtype });
        writeMessage(join(dir, 'onnx', `model${suffix}.onnx`), graph.model(OPSET));
      }
      writeMessage(
        join(dirs.fused, 'onnx', `textgen_decoder${suffix}.onnx`),
        buildFusedDecoder(spec, randomWeights(11), { dtype }).model(FUSED_OPSET),
      );
      const fused = await loadModel(dirs.fused, { inProcess: true, threads: 1, dtype });
      const optimum = await loadModel(dirs.optimum, { inProcess: true, threads: 1, dtype });
      try {
        assert.equal(fused.info.cacheLayout, 'zero-copy');
        assert.equal(optimum.info.cacheLayout, 'growing');
        assert.deepEqual(
          await ids(fused, PROMPTS),
          await ids(optimum, PROMPTS),
          `${preset} ${dtype}`,
        );
      } finally {
        await fused.dispose();
        await optimum.dispose();
      }
    }
  }
});

test('a fused graph from another textgen version is a one-line ModelError, not a failed run', async () => {
  // Same cache inputs, but the new K/V come out under another name: no zero-copy layout matches.
  const graph = buildFusedDecoder(PRESETS['llama-tiny'], randomWeights(11), { dtype: 'fp32' });
  const dir = join(root, 'stale');
  modelShell(join(root, 'llama-tiny-fused'), dir, 'copy');
  const bytes = Buffer.from(
    Buffer.concat(graph.model(FUSED_OPSET).parts as Uint8Array[])
      .toString('latin1')
      .replaceAll('cache_new', 'cache_old'),
    'latin1',
  );
  writeFileSync(join(dir, 'onnx', 'textgen_decoder.onnx'), bytes);
  await assert.rejects(loadModel(dir, { inProcess: true }), (e: Error) => {
    assert.equal(e.name, 'ModelError');
    assert.match(e.message, /inputs textgen cannot feed: cache\.0\.key, cache\.0\.value, /);
    assert.match((e as Error & { hint?: string }).hint ?? '', /another textgen version/);
    return true;
  });
});
