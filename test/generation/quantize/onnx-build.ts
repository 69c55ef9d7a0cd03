// A small hand-rolled ONNX model builder for the quantize tests: graphs with subgraph (If) attributes,
// float/int attributes and initializers stored inline or in an external data file, which the
// project's GraphBuilder does not do.
import { writeFileSync } from 'node:fs';
import { Message } from '../../../generation/onnx-writer/proto.js';

/** ONNX element types used here. */
export const T = { float: 1, int64: 7, bool: 9 } as const;

/** A graph under construction. */
export interface TestGraph {
  nodes: Message[];
  inits: Message[];
  inputs: Message[];
  outputs: Message[];
}

/** An empty graph. */
export function graph(): TestGraph {
  return { nodes: [], inits: [], inputs: [], outputs: [] };
}

/** A node attribute: int, float ({ f }), int list, or subgraph ({ g }). */
export type TestAttr = number | { f: number } | number[] | { g: TestGraph };

/** Adds a node. */
export function node(
  g: TestGraph,
  op: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, TestAttr> = {},
): void {
  const m = new Message();
  for (const i of inputs) m.string(1, i);
  for (const o of outputs) m.string(2, o);
  m.string(3, `${op}_${outputs[0]}`).string(4, op);
  for (const [k, v] of Object.entries(attrs)) {
    const a = new Message().string(1, k);
    if (typeof v === 'number') a.int(3, v).int(20, 2);
    else if (Array.isArray(v)) a.packedInts(8, v).int(20, 7);
    else if ('f' in v) a.float(2, v.f).int(20, 1);
    else a.message(6, encodeGraph(v.g, k)).int(20, 5);
    m.message(5, a);
  }
  g.nodes.push(m);
}

/** Adds an inline initializer. */
export function init(
  g: TestGraph,
  name: string,
  dims: number[],
  data: Float32Array | BigInt64Array,
): void {
  const type = data instanceof Float32Array ? T.float : T.int64;
  g.inits.push(
    new Message()
      .packedInts(1, dims)
      .int(2, type)
      .string(8, name)
      .bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
  );
}

/** Adds a float initializer whose data lives in `location` (relative to the model) at `offset`. */
export function externalInit(
  g: TestGraph,
  name: string,
  dims: number[],
  location: string,
  offset: number,
  length: number,
): void {
  const entry = (k: string, v: string) => new Message().string(1, k).string(2, v);
  g.inits.push(
    new Message()
      .packedInts(1, dims)
      .int(2, T.float)
      .string(8, name)
      .message(13, entry('location', location))
      .message(13, entry('offset', String(offset)))
      .message(13, entry('length', String(length)))
      .int(14, 1),
  );
}

function valueInfo(name: string, type: number, shape: Array<number | string>): Message {
  const s = new Message();
  for (const d of shape)
    s.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  return new Message()
    .string(1, name)
    .message(2, new Message().message(1, new Message().int(1, type).message(2, s)));
}

/** Declares a graph input. */
export function input(
  g: TestGraph,
  name: string,
  type: number,
  shape: Array<number | string>,
): void {
  g.inputs.push(valueInfo(name, type, shape));
}

/** Declares a graph output. */
export function output(
  g: TestGraph,
  name: string,
  type: number,
  shape: Array<number | string>,
): void {
  g.outputs.push(valueInfo(name, type, shape));
}

function encodeGraph(g: TestGraph, name: string): Message {
  const m = new Message();
  for (const n of g.nodes) m.message(1, n);
  m.string(2, name);
  for (const t of g.inits) m.message(5, t);
  for (const i of g.inputs) m.message(11, i);
  for (const o of g.outputs) m.message(12, o);
  return m;
}

/** Writes the model (IR 8, opset 17) to `path`. */
export function writeModel(path: string, g: TestGraph): void {
  const top = new Message()
    .int(1, 8)
    .string(2, 'textgen-test')
    .message(7, encodeGraph(g, 'main'))
    .message(8, new Message().string(1, '').int(2, 17));
  writeFileSync(path, Buffer.concat(top.parts));
}

/** Deterministic small pseudo-random floats. */
export function values(count: number, seed: number, scale = 0.1): Float32Array {
  const out = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648 - 0.5) * 2 * scale;
  }
  return out;
}
