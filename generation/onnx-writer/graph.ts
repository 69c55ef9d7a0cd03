/**
 * Builds an ONNX ModelProto (standard ops, default domain) node by node and writes it to disk as one
 * file with inline weights. Names of intermediate values are generated; emitters only name the graph
 * inputs, outputs and weights.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Message } from './proto.js';

/** ONNX TensorProto.DataType values used here. */
export const DataType = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10 } as const;

/** An element type name. */
export type ElemType = keyof typeof DataType;

/** A graph input or output: fixed sizes or symbolic names. */
export interface ValueSpec {
  name: string;
  type: ElemType;
  shape: Array<number | string>;
}

/** An attribute value: int, float, string, int list, float list or tensor. */
export type AttrValue =
  number | string | number[] | { floats: number[] } | { float: number } | TensorValue;

/** A constant tensor. */
export interface TensorValue {
  dims: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
  type?: ElemType;
}

function typeOf(t: TensorValue): ElemType {
  if (t.type) return t.type;
  if (t.data instanceof Float32Array) return 'float32';
  if (t.data instanceof BigInt64Array) return 'int64';
  if (t.data instanceof Int32Array) return 'int32';
  return 'bool';
}

function tensorProto(name: string, t: TensorValue): Message {
  const m = new Message();
  m.packedInts(1, t.dims);
  m.int(2, DataType[typeOf(t)]);
  m.string(8, name);
  // Little-endian raw bytes: Node's typed arrays are little-endian on every supported platform.
  m.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return m;
}

function valueInfo(v: ValueSpec): Message {
  const shape = new Message();
  for (const d of v.shape)
    shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  const tensorType = new Message().int(1, DataType[v.type]).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

function attribute(name: string, value: AttrValue): Message {
  const m = new Message().string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value))
      throw new Error(`attribute ${name}: use { float } for non-integers`);
    return m.int(3, value).int(20, 2);
  }
  if (typeof value === 'string') return m.string(4, value).int(20, 3);
  if (Array.isArray(value)) return m.packedInts(8, value).int(20, 7);
  if ('floats' in value) return m.packedFloats(7, value.floats).int(20, 6);
  if ('float' in value) return m.float(2, value.float).int(20, 1);
  return m.message(5, tensorProto('', value)).int(20, 4);
}

/** Accumulates nodes, weights and I/O of one graph. */
export class GraphBuilder {
  private readonly nodes: Message[] = [];
  private readonly initializers: Message[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private counter = 0;
  /** Operator domains other than the default one that nodes use (each needs an opset import). */
  private readonly domains = new Set<string>();

  constructor(private readonly name: string) {}

  /** Declares a graph input and returns its name. */
  input(spec: ValueSpec): string {
    this.inputs.push(spec);
    return spec.name;
  }

  /** Declares a graph output; `from` is renamed to the output name with an Identity when needed. */
  output(spec: ValueSpec, from: string): void {
    if (from !== spec.name) this.op('Identity', [from], {}, spec.name);
    this.outputs.push(spec);
  }

  /** Adds a named weight (initializer) and returns its name. */
  weight(name: string, t: TensorValue): string {
    this.initializers.push(tensorProto(name, t));
    return name;
  }

  /** A small int64 constant initializer (shapes, axes). */
  ints(values: number[], dims: number[] = [values.length]): string {
    return this.weight(`const_${this.counter++}`, {
      dims,
      data: BigInt64Array.from(values.map((v) => BigInt(v))),
    });
  }

  /** A float32 scalar (or small) constant initializer. */
  floats(values: number[], dims: number[] = []): string {
    return this.weight(`const_${this.counter++}`, { dims, data: Float32Array.from(values) });
  }

  /** Adds a node with one output and returns the output name. */
  op(
    type: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    output?: string,
  ): string {
    return this.opN(type, inputs, 1, attrs, output ? [output] : undefined)[0];
  }

  /** Adds a node with `count` outputs. */
  opN(
    type: string,
    inputs: string[],
    count: number,
    attrs: Record<string, AttrValue> = {},
    names?: string[],
    domain = '',
  ): string[] {
    const id = this.counter++;
    const outputs =
      names ??
      Array.from(
        { length: count },
        (_, i) => `${type.toLowerCase()}_${id}${count > 1 ? `_${i}` : ''}`,
      );
    const m = new Message();
    for (const i of inputs) m.string(1, i);
    for (const o of outputs) m.string(2, o);
    m.string(3, `${type}_${id}`);
    m.string(4, type);
    for (const [k, v] of Object.entries(attrs)) m.message(5, attribute(k, v));
    if (domain) {
      m.string(7, domain);
      this.domains.add(domain);
    }
    this.nodes.push(m);
    return outputs;
  }

  /**
   * Adds a node of ONNX Runtime's `com.microsoft` contrib domain (GroupQueryAttention,
   * SkipSimplifiedLayerNormalization, MatMulNBits, ...); `names` may hold '' for an optional output
   * left out.
   */
  contrib(
    type: string,
    inputs: string[],
    count: number,
    attrs: Record<string, AttrValue> = {},
    names?: string[],
  ): string[] {
    return this.opN(type, inputs, count, attrs, names, 'com.microsoft');
  }

  /** The ModelProto: IR 8, the given default-domain opset. */
  model(opset: number, producer = 'textgen onnx-writer'): Message {
    const graph = new Message();
    for (const n of this.nodes) graph.message(1, n);
    graph.string(2, this.name);
    for (const t of this.initializers) graph.message(5, t);
    for (const i of this.inputs) graph.message(11, valueInfo(i));
    for (const o of this.outputs) graph.message(12, valueInfo(o));
    const model = new Message()
      .int(1, 8)
      .string(2, producer)
      .message(7, graph)
      .message(8, new Message().string(1, '').int(2, opset));
    for (const domain of this.domains) model.message(8, new Message().string(1, domain).int(2, 1));
    return model;
  }
}

/** Streams a message to a file chunk by chunk (no single buffer of the whole model is built). */
export function writeMessage(path: string, message: Message): void {
  const fd = openSync(path, 'w');
  try {
    for (const part of message.parts) {
      let written = 0;
      while (written < part.length) written += writeSync(fd, part, written, part.length - written);
    }
  } finally {
    closeSync(fd);
  }
}
