// The ONNX rewrite on a synthetic model with every pattern it handles — MatMul on 3-D activations,
// Gemm with transB and a bias, Gemm without, a tied head MatMul(x, Transpose(E)) plus Gather(E, ids),
// and one weight read by both branches of an If — run through onnxruntime before and after: outputs
// stay close, the I/O is unchanged, the fp32 weights and the folded Transpose are gone, the shared
// weight is stored once, untouched tensors are copied byte for byte, and external data is read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelError } from '../../../generation/errors.js';
import { allGraphs, indexModel } from '../../../generation/quantize/onnx-index.js';
import type { QuantOptions } from '../../../generation/quantize/plan.js';
import { FileSource } from '../../../generation/onnx-writer/proto-reader.js';
import { prepareFile, writePrepared } from '../../../generation/quantize/quantize-file.js';
import {
  externalInit,
  graph,
  init,
  input,
  node,
  output,
  T,
  values,
  writeModel,
  type TestGraph,
} from './onnx-build.js';

const [K, N1, N2, N3, V, N5] = [64, 48, 40, 24, 100, 32];
let dir: string;

interface Weight {
  name: string;
  dims: number[];
  data: Float32Array;
}

const WEIGHTS: Weight[] = [
  { name: 'W1', dims: [K, N1], data: values(K * N1, 1) },
  { name: 'W2', dims: [N2, K], data: values(N2 * K, 2) },
  { name: 'W3', dims: [K, N3], data: values(K * N3, 3) },
  { name: 'E', dims: [V, K], data: values(V * K, 4, 0.5) },
  { name: 'W5', dims: [K, N5], data: values(K * N5, 5) },
];
const BIAS = values(N2, 6, 1);

/** The zoo model; with `external`, the weights live in model.onnx_data. */
function zoo(path: string, external: boolean): void {
  const g = graph();
  input(g, 'x', T.float, ['batch', 'seq', K]);
  input(g, 'ids', T.int64, ['batch', 'seq']);
  input(g, 'cond', T.bool, []);
  if (external) {
    const blob = Buffer.concat(WEIGHTS.map((w) => Buffer.from(w.data.buffer)));
    writeFileSync(`${path}_data`, blob);
    let offset = 0;
    for (const w of WEIGHTS) {
      externalInit(g, w.name, w.dims, `${path.split('/').pop()}_data`, offset, w.data.byteLength);
      offset += w.data.byteLength;
    }
  } else for (const w of WEIGHTS) init(g, w.name, w.dims, w.data);
  init(g, 'b2', [N2], BIAS);
  init(g, 'flat', [2], BigInt64Array.from([-1n, BigInt(K)]));
  init(g, 'two', [], Float32Array.of(2));
  node(g, 'MatMul', ['x', 'W1'], ['y1']);
  node(g, 'Reshape', ['x', 'flat'], ['x2']);
  node(g, 'Gemm', ['x2', 'W2', 'b2'], ['y2'], { transB: 1 });
  node(g, 'Gemm', ['x2', 'W3'], ['y3'], { transB: 0, alpha: { f: 1 } });
  node(g, 'Transpose', ['E'], ['Et'], { perm: [1, 0] });
  node(g, 'MatMul', ['x', 'Et'], ['logits']);
  node(g, 'Gather', ['E', 'ids'], ['emb']);
  const then: TestGraph = graph();
  node(then, 'MatMul', ['x', 'W5'], ['t_out']);
  output(then, 't_out', T.float, ['batch', 'seq', N5]);
  const otherwise: TestGraph = graph();
  node(otherwise, 'MatMul', ['x', 'W5'], ['e_mm']);
  node(otherwise, 'Mul', ['e_mm', 'two'], ['e_out']);
  output(otherwise, 'e_out', T.float, ['batch', 'seq', N5]);
  node(g, 'If', ['cond'], ['y5'], { then_branch: { g: then }, else_branch: { g: otherwise } });
  output(g, 'y1', T.float, ['batch', 'seq', N1]);
  output(g, 'y2', T.float, ['rows', N2]);
  output(g, 'y3', T.float, ['rows', N3]);
  output(g, 'logits', T.float, ['batch', 'seq', V]);
  output(g, 'emb', T.float, ['batch', 'seq', K]);
  output(g, 'y5', T.float, ['batch', 'seq', N5]);
  writeModel(path, g);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'textgen-quantize-rewrite-'));
  zoo(join(dir, 'zoo.onnx'), false);
  zoo(join(dir, 'zoo_ext.onnx'), true);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function quantize(
  source: string,
  target: string,
  options: Partial<QuantOptions>,
): Promise<void> {
  const prepared = prepareFile(
    source,
    { dtype: 'q4', blockSize: 32, head: 'q8', vocabSize: V, ...options },
    '{}',
  );
  try {
    for await (const _ of writePrepared(prepared, target));
  } finally {
    prepared.close();
  }
}

async function run(path: string, cond: boolean): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  const [b, s] = [2, 3];
  const x = values(b * s * K, 9, 1);
  const result = await session.run({
    x: new ort.Tensor('float32', x, [b, s, K]),
    ids: new ort.Tensor('int64', BigInt64Array.from([0n, 5n, 99n, 42n, 5n, 7n]), [b, s]),
    cond: new ort.Tensor('bool', Uint8Array.of(cond ? 1 : 0), []),
  });
  await session.release();
  return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.data as Float32Array]));
}

/** Relative RMS difference. */
function relDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += a[i] ** 2;
  }
  return Math.sqrt(d / n);
}

function census(path: string) {
  const src = new FileSource(path);
  try {
    const m = indexModel(src);
    const graphs = allGraphs(m.graph);
    return {
      ops: graphs.flatMap((g) => g.nodes.map((n) => n.opType)),
      nodes: graphs.flatMap((g) => g.nodes),
      inits: graphs.flatMap((g) => g.initializers.map((t) => t.name)),
      inputs: m.graph.inputs,
      outputs: m.graph.outputs,
      opsets: m.opsets.map((o) => o.domain),
    };
  } finally {
    src.close();
  }
}

const LIMITS = { q8: 0.02, q4: 0.15, int8: 0.03 } as const;

for (const [dtype, head] of [
  ['q8', 'q8'],
  ['q4', 'q8'],
  ['int8', 'q8'],
  ['q4', 'q4'],
] as const) {
  test(`${dtype} (head ${head}): every pattern is rewritten and the outputs stay close`, async () => {
    const source = join(dir, 'zoo.onnx');
    const target = join(dir, `zoo_${dtype}_${head}.onnx`);
    await quantize(source, target, { dtype, head });
    for (const cond of [true, false]) {
      const [want, got] = [await run(source, cond), await run(target, cond)];
      for (const name of Object.keys(want)) {
        const limit = name === 'logits' || name === 'emb' ? LIMITS[head] : LIMITS[dtype];
        const diff = relDiff(want[name], got[name]);
        assert.ok(diff < limit, `${dtype} ${name} (cond ${cond}): relative error ${diff}`);
      }
    }
    const before = census(source);
    const after = census(target);
    assert.deepEqual([after.inputs, after.outputs], [before.inputs, before.outputs]);
    assert.ok(!after.ops.includes('MatMul') && !after.ops.includes('Gemm'), after.ops.join(' '));
    for (const w of WEIGHTS)
      assert.ok(!after.inits.includes(w.name), `${w.name} fp32 copy dropped`);
    // The tied head's Transpose of the fp32 table is folded; int8 weights stored [N, K] (the table
    // shared by the 8-bit head and the lookup, Gemm's transB weight) are read through a new one.
    // q8 keeps its 8-bit head in MatMulNBits blocks, looked up with GatherBlockQuantized.
    const int8Head = head === 'q8' && dtype !== 'q8';
    const transposes = after.nodes.filter((n) => n.opType === 'Transpose');
    assert.deepEqual(
      transposes.map((n) => n.inputs[0]),
      [...(dtype === 'int8' ? ['W2_int8'] : []), ...(int8Head ? ['E_int8'] : [])],
    );
    assert.equal(after.ops.includes('GatherBlockQuantized'), !int8Head);
    // W5 is read by both If branches but stored once (data and scales).
    assert.equal(after.inits.filter((n) => n.startsWith('W5_')).length, 2, after.inits.join(' '));
    const nbits = after.ops.filter((o) => o === 'MatMulNBits').length;
    const integer = after.ops.filter((o) => o === 'MatMulInteger').length;
    // 6 products: W1, W2, W3, W5 twice, and the head.
    const headInt8 = int8Head ? 1 : 0;
    assert.deepEqual(
      [nbits, integer],
      dtype === 'int8' ? [1 - headInt8, 5 + headInt8] : [6 - headInt8, headInt8],
    );
    assert.equal(after.opsets.includes('com.microsoft'), nbits > 0 || head === 'q4');
  });
}

test('untouched tensors and top-level fields are copied byte for byte', async () => {
  const source = join(dir, 'zoo.onnx');
  const target = join(dir, 'zoo_copy_q4.onnx');
  await quantize(source, target, {});
  const out = readFileSync(target);
  const bias = Buffer.from(BIAS.buffer);
  assert.ok(out.includes(bias), 'the Gemm bias is copied verbatim');
  assert.ok(out.includes(Buffer.from('textgen-test')), 'producer_name kept');
});

test('--head fp32 leaves the tied head, its Transpose and the embedding lookup alone', async () => {
  const target = join(dir, 'zoo_fp32head_q4.onnx');
  await quantize(join(dir, 'zoo.onnx'), target, { head: 'fp32' });
  const after = census(target);
  assert.ok(after.inits.includes('E'), "after.inits.includes('E')");
  assert.deepEqual(
    ['Transpose', 'Gather', 'MatMul'].map((op) => after.ops.filter((o) => o === op).length),
    [1, 1, 1],
  );
  const [want, got] = [await run(join(dir, 'zoo.onnx'), true), await run(target, true)];
  assert.deepEqual(got.logits, want.logits);
});

test('weights in an external data file are read, and the variant is self-contained', async () => {
  const target = join(dir, 'zoo_ext_q8.onnx');
  await quantize(join(dir, 'zoo_ext.onnx'), target, { dtype: 'q8' });
  const [want, got] = [await run(join(dir, 'zoo.onnx'), false), await run(target, false)];
  const inline = await run(join(dir, 'zoo_q8_q8.onnx'), false);
  for (const name of Object.keys(want)) assert.deepEqual(got[name], inline[name], name);
});

test('truncated external data and already-quantized files are refused with a ModelError', () => {
  const truncated = join(dir, 'zoo_trunc.onnx');
  zoo(truncated, true);
  const data = readFileSync(`${truncated}_data`);
  writeFileSync(`${truncated}_data`, data.subarray(0, data.length - 100));
  assert.throws(
    () => prepareFile(truncated, { dtype: 'q4', blockSize: 32, head: 'q8' }, '{}'),
    (e: unknown) => e instanceof ModelError && /truncated/.test(e.message),
  );
  assert.throws(
    () =>
      prepareFile(join(dir, 'zoo_q8_q8.onnx'), { dtype: 'q4', blockSize: 32, head: 'q8' }, '{}'),
    (e: unknown) => e instanceof ModelError && /already quantized/.test(e.message),
  );
  writeFileSync(join(dir, 'garbage.onnx'), Buffer.from('not a protobuf at all'));
  assert.throws(
    () => prepareFile(join(dir, 'garbage.onnx'), { dtype: 'q4', blockSize: 32, head: 'q8' }, '{}'),
    (e: unknown) => e instanceof ModelError,
  );
});
