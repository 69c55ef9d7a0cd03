// The quantization leaf against onnxruntime's own kernels: blobs from packBlocks fed to
// com.microsoft.MatMulNBits (4 and 8 bits, K not a multiple of the block, bias, 3-D activations) give
// A·dequant(W)ᵀ + bias; GatherBlockQuantized reads the same blobs as embedding rows; per-column int8
// through DynamicQuantizeLinear → MatMulInteger gives A·W within the activation rounding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Message } from '../../../generation/onnx-writer/proto.js';
import {
  blocksPerColumn,
  gatherBlockQuantizedAttributes,
  matMulNBitsAttributes,
  packBlocks,
  quantizeInt8Columns,
  transpose,
  unpackBlocks,
  type BlockBits,
} from '../../../generation/onnx-writer/block-quant.js';

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const INT64 = 7;

/** A deterministic pseudo-normal source (sum of uniforms) so failures reproduce. */
function normals(count: number, seed: number, std = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let j = 0; j < 4; j++) sum += uniform();
    out[i] = (sum - 2) * Math.sqrt(3) * std;
  }
  return out;
}

function tensor(name: string, dims: number[], type: number, data: ArrayBufferView): Message {
  return new Message()
    .packedInts(1, dims)
    .int(2, type)
    .string(8, name)
    .bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function valueInfo(name: string, type: number, rank: number): Message {
  const shape = new Message();
  for (let i = 0; i < rank; i++) shape.message(1, new Message().string(2, `d${i}`));
  const tensorType = new Message().int(1, type).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

interface NodeSpec {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number>;
}

/** A one-graph model: standard ops (opset 17) and com.microsoft ops (version 1). */
function model(
  nodes: NodeSpec[],
  initializers: Message[],
  inputs: Array<[string, number, number]>,
  outputs: Array<[string, number, number]>,
): Uint8Array {
  const graph = new Message();
  nodes.forEach((n, i) => {
    const m = new Message();
    for (const x of n.inputs) m.string(1, x);
    for (const x of n.outputs) m.string(2, x);
    m.string(3, `n${i}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {}))
      m.message(5, new Message().string(1, k).int(3, v).int(20, 2));
    if (n.domain) m.string(7, n.domain);
    graph.message(1, m);
  });
  graph.string(2, 'g');
  for (const t of initializers) graph.message(5, t);
  for (const [n, t, r] of inputs) graph.message(11, valueInfo(n, t, r));
  for (const [n, t, r] of outputs) graph.message(12, valueInfo(n, t, r));
  const top = new Message()
    .int(1, 8)
    .message(7, graph)
    .message(8, new Message().string(1, '').int(2, 17))
    .message(8, new Message().string(1, 'com.microsoft').int(2, 1));
  const out = new Uint8Array(top.length);
  let at = 0;
  for (const p of top.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function run(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  output: string,
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const result = await session.run(feeds);
    return result[output].data as Float32Array;
  } finally {
    await session.release();
  }
}

/** y[m, n] = Σ_k a[m, k] · w[n, k] (+ bias[n]): the [N, K] weight layout of MatMulNBits. */
function reference(
  a: Float32Array,
  w: Float32Array,
  rows: number,
  n: number,
  k: number,
  bias?: Float32Array,
): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < n; c++) {
      let s = bias ? bias[c] : 0;
      for (let j = 0; j < k; j++) s += a[r * k + j] * w[c * k + j];
      y[r * n + c] = s;
    }
  return y;
}

async function matMulNBits(
  bits: BlockBits,
  blockSize: number,
  dims: number[],
  n: number,
  accuracyLevel: number,
  withBias: boolean,
): Promise<{ got: Float32Array; exact: Float64Array; a: Float32Array; deq: Float32Array }> {
  const k = dims[dims.length - 1];
  const rows = dims.slice(0, -1).reduce((x, y) => x * y, 1);
  const w = normals(n * k, 11 + bits + k, 0.05);
  const a = normals(rows * k, 7 + n);
  const bias = withBias ? normals(n, 3, 0.5) : undefined;
  const packed = packBlocks(w, n, k, bits, blockSize);
  const blocks = blocksPerColumn(k, blockSize);
  const attrs = { ...matMulNBitsAttributes(n, k, bits, blockSize), accuracy_level: accuracyLevel };
  const inits = [
    tensor('B', [n, blocks, (blockSize * bits) / 8], UINT8, packed.data),
    tensor('scales', [n * blocks], FLOAT, packed.scales),
  ];
  const inputs = ['A', 'B', 'scales'];
  if (bias) {
    inits.push(tensor('bias', [n], FLOAT, bias));
    inputs.push('', '', 'bias');
  }
  const bytes = model(
    [{ op: 'MatMulNBits', domain: 'com.microsoft', inputs, outputs: ['Y'], attrs }],
    inits,
    [['A', FLOAT, dims.length]],
    [['Y', FLOAT, dims.length]],
  );
  const got = await run(bytes, { A: new ort.Tensor('float32', a, dims) }, 'Y');
  const deq = unpackBlocks(packed, n, k, bits, blockSize);
  return { got, exact: reference(a, deq, rows, n, k, bias), a, deq };
}

for (const bits of [4, 8] as const) {
  test(`MatMulNBits ${bits}-bit (fp32 compute) multiplies by exactly the packed weights`, async () => {
    // K = 80 with block 32: the last block of every column is padded; A is 3-D; bias added.
    const { got, exact } = await matMulNBits(bits, 32, [2, 3, 80], 24, 0, true);
    assert.equal(got.length, exact.length);
    for (let i = 0; i < got.length; i++)
      assert.ok(
        Math.abs(got[i] - exact[i]) <= 1e-4 * (1 + Math.abs(exact[i])),
        `y[${i}] ${got[i]} vs ${exact[i]}`,
      );
  });

  test(`MatMulNBits ${bits}-bit at accuracy_level 4 stays within the activation rounding`, async () => {
    const blockSize = 16;
    const [rows, n, k] = [5, 40, 72];
    const { got, exact, a, deq } = await matMulNBits(bits, blockSize, [rows, k], n, 4, false);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < n; c++) {
        // Level 4 rounds each activation block to int8: error ≤ Σ |w| · absmax(block)/254 per term.
        let bound = 1e-4;
        for (let b = 0; b < k; b += blockSize) {
          let amax = 0;
          for (let j = b; j < Math.min(k, b + blockSize); j++)
            amax = Math.max(amax, Math.abs(a[r * k + j]));
          for (let j = b; j < Math.min(k, b + blockSize); j++)
            bound += (Math.abs(deq[c * k + j]) * amax) / 127;
        }
        const i = r * n + c;
        assert.ok(Math.abs(got[i] - exact[i]) <= bound, `y[${i}] ${got[i]} vs ${exact[i]}`);
      }
  });

  test(`packBlocks ${bits}-bit error stays within half a step per weight`, () => {
    const [n, k, bs] = [16, 100, 32];
    const w = normals(n * k, 5, 0.1);
    w[37] = 2; // an outlier widens only its own block's step
    const packed = packBlocks(w, n, k, bits, bs);
    const deq = unpackBlocks(packed, n, k, bits, bs);
    const blocks = blocksPerColumn(k, bs);
    let sq = 0;
    let norm = 0;
    for (let r = 0; r < n; r++)
      for (let j = 0; j < k; j++) {
        const scale = Math.abs(packed.scales[r * blocks + Math.floor(j / bs)]);
        const err = Math.abs(w[r * k + j] - deq[r * k + j]);
        // The least-squares scale may clamp the block's extreme code by under one step.
        assert.ok(err <= scale * 1.01 + 1e-9, `w[${r},${j}] error ${err} > step ${scale}`);
        sq += err * err;
        norm += w[r * k + j] ** 2;
      }
    const relative = Math.sqrt(sq / norm);
    assert.ok(relative < (bits === 4 ? 0.12 : 0.008), `relative RMS error ${relative}`);
  });
}

test('an all-zero block packs to the zero point with scale 0', () => {
  const packed = packBlocks(new Float32Array(64), 2, 32, 4, 32);
  assert.deepEqual([...packed.scales], [0, 0]);
  assert.ok(
    packed.data.every((b) => b === 0x88),
    'packed.data.every((b) => b === 0x88)',
  );
});

test('packBlocks rejects block sizes and bit widths MatMulNBits does not take', () => {
  assert.throws(() => packBlocks(new Float32Array(32), 1, 32, 4, 24), /power of two/);
  assert.throws(() => packBlocks(new Float32Array(32), 1, 32, 3 as BlockBits, 32), /4 or 8/);
  assert.throws(() => packBlocks(new Float32Array(31), 1, 32, 4, 32), /expected/);
});

for (const bits of [4, 8] as const) {
  test(`GatherBlockQuantized ${bits}-bit reads packBlocks blobs as embedding rows`, async () => {
    const [rows, k, bs] = [50, 64, 32];
    const table = normals(rows * k, 9, 0.3);
    const packed = packBlocks(table, rows, k, bits, bs);
    const ids = BigInt64Array.from([3n, 0n, 49n, 3n, 17n, 25n]);
    const bytes = model(
      [
        {
          op: 'GatherBlockQuantized',
          domain: 'com.microsoft',
          inputs: ['data', 'ids', 'scales'],
          outputs: ['Y'],
          attrs: gatherBlockQuantizedAttributes(bits, bs),
        },
      ],
      [
        tensor('data', [rows, (k * bits) / 8], UINT8, packed.data),
        tensor('scales', [rows, k / bs], FLOAT, packed.scales),
      ],
      [['ids', INT64, 2]],
      [['Y', FLOAT, 3]],
    );
    const got = await run(bytes, { ids: new ort.Tensor('int64', ids, [2, 3]) }, 'Y');
    const deq = unpackBlocks(packed, rows, k, bits, bs);
    ids.forEach((id, i) => {
      for (let j = 0; j < k; j++)
        assert.ok(Math.abs(got[i * k + j] - deq[Number(id) * k + j]) <= 1e-6, `row ${i} col ${j}`);
    });
  });
}

test('per-column int8 through DynamicQuantizeLinear → MatMulInteger matches A·W', async () => {
  const [rows, k, n] = [4, 48, 20];
  const wT = normals(n * k, 21, 0.07); // [N, K]
  wT[5] = -1.5; // one wide column must not coarsen the others
  const w = transpose(wT, n, k); // [K, N]
  const a = normals(rows * k, 8);
  const q = quantizeInt8Columns(w, k, n);
  const bytes = model(
    [
      { op: 'DynamicQuantizeLinear', inputs: ['A'], outputs: ['Aq', 'As', 'Az'] },
      { op: 'MatMulInteger', inputs: ['Aq', 'W', 'Az', 'Wz'], outputs: ['Yi'] },
      { op: 'Cast', inputs: ['Yi'], outputs: ['Yf'], attrs: { to: FLOAT } },
      { op: 'Mul', inputs: ['As', 'Ws'], outputs: ['S'] },
      { op: 'Mul', inputs: ['Yf', 'S'], outputs: ['Y'] },
    ],
    [
      tensor('W', [k, n], INT8, q.data),
      tensor('Wz', [], INT8, new Int8Array(1)),
      tensor('Ws', [n], FLOAT, q.scales),
    ],
    [['A', FLOAT, 2]],
    [['Y', FLOAT, 2]],
  );
  const got = await run(bytes, { A: new ort.Tensor('float32', a, [rows, k]) }, 'Y');
  const deq = new Float32Array(k * n);
  for (let j = 0; j < k; j++)
    for (let c = 0; c < n; c++) deq[j * n + c] = q.data[j * n + c] * q.scales[c];
  let amin = 0;
  let amax = 0;
  for (const v of a) [amin, amax] = [Math.min(amin, v), Math.max(amax, v)];
  const aStep = (amax - amin) / 255;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < n; c++) {
      let exact = 0;
      let bound = 1e-4;
      for (let j = 0; j < k; j++) {
        exact += a[r * k + j] * deq[j * n + c];
        bound += Math.abs(deq[j * n + c]) * aStep;
      }
      // And the weights themselves: within half a column step of the fp32 values.
      for (let j = 0; j < k; j++)
        assert.ok(
          Math.abs(deq[j * n + c] - w[j * n + c]) <= q.scales[c] / 2 + 1e-7,
          'Math.abs(deq[j * n + c] - w[j * n + c]) <= q.scales[c] / 2 + 1e-7',
        );
      assert.ok(
        Math.abs(got[r * n + c] - exact) <= bound,
        `y[${r},${c}] ${got[r * n + c]} vs ${exact}`,
      );
    }
});
