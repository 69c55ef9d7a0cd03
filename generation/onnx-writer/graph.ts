/**
 * Builds an ONNX ModelProto node by node and writes it to disk. Names of intermediate values are
 * generated; emitters only name the graph inputs, outputs and weights. Weights are kept in memory, or,
 * for a builder created inside {@link withWeightSpool}, streamed to a spool file as they are added and
 * written inline (models under 2 GiB) or as external data (`<model>.onnx_data`) by {@link writeModel}.
 */
import { basename } from 'node:path';
import { renameSync, rmSync } from 'node:fs';
import { FileSlice, Message } from './proto.js';
import { WeightSpool, writeMessage } from './weight-spool.js';

export { writeMessage, WeightSpool };

/** ONNX TensorProto.DataType values used here. */
export const DataType = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
} as const;

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
  /** Float16 data is the IEEE half bit patterns. */
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;
  /** Needed for uint8 data (Uint8Array defaults to bool); other types follow the array. */
  type?: ElemType;
}

function typeOf(t: TensorValue): ElemType {
  if (t.type) return t.type;
  if (t.data instanceof Float32Array) return 'float32';
  if (t.data instanceof BigInt64Array) return 'int64';
  if (t.data instanceof Int32Array) return 'int32';
  if (t.data instanceof Uint16Array) return 'float16';
  return 'bool';
}

/** An initializer: its bytes in memory, or where the spool holds them. */
interface Initializer {
  name: string;
  dims: number[];
  type: ElemType;
  /** In memory, or a {@link FileSlice} of the spool. */
  data: Uint8Array;
}

/** Where the initializers' bytes go in the written model. */
interface TensorPlacement {
  /** File name (relative to the model) of the external data; spooled tensors are referenced there. */
  externalData?: string;
}

function tensorProto(t: Initializer, placement: TensorPlacement = {}): Message {
  const m = new Message();
  m.packedInts(1, t.dims);
  m.int(2, DataType[t.type]);
  m.string(8, t.name);
  if (placement.externalData && t.data instanceof FileSlice) {
    // TensorProto.external_data (13) as key/value entries, data_location (14) = EXTERNAL.
    const entry = (key: string, value: string) =>
      m.message(13, new Message().string(1, key).string(2, value));
    entry('location', placement.externalData);
    entry('offset', String(t.data.offset));
    entry('length', String(t.data.length));
    return m.int(14, 1);
  }
  // Little-endian raw bytes: Node's typed arrays are little-endian on every supported platform.
  return m.bytes(9, t.data);
}

function bytesOf(t: TensorValue): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
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
  const tensor = { name: '', dims: value.dims, type: typeOf(value), data: bytesOf(value) };
  return m.message(5, tensorProto(tensor)).int(20, 4);
}

/** Tensors smaller than this stay in memory even when a spool is active (shapes, scalars, norms). */
const SPOOL_FROM_BYTES = 4096;

let activeSpool: WeightSpool | undefined;

/**
 * Runs `build` with `spool` active: every GraphBuilder constructed during the call streams its large
 * weights to the spool as they are added. Builders are synchronous, so the scope is exactly the call;
 * an emitter written against plain GraphBuilder (textgen's or the fused one) spools without changes.
 */
export function withWeightSpool<T>(spool: WeightSpool, build: () => T): T {
  const previous = activeSpool;
  activeSpool = spool;
  try {
    return build();
  } finally {
    activeSpool = previous;
  }
}

/** The ONNX opset version of each non-default operator domain the builder emits. */
const DOMAIN_OPSETS: Record<string, number> = { 'com.microsoft': 1 };

/** Accumulates nodes, weights and I/O of one graph. */
export class GraphBuilder {
  private readonly nodes: Message[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly domains = new Set<string>();
  private counter = 0;
  /** The spool this builder's large weights are streamed to, when built inside withWeightSpool. */
  readonly spool: WeightSpool | undefined = activeSpool;

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
    const bytes = bytesOf(t);
    const data = this.spool && bytes.length >= SPOOL_FROM_BYTES ? this.spool.append(bytes) : bytes;
    this.initializers.push({ name, dims: t.dims, type: typeOf(t), data });
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

  /** Adds a node with `count` outputs (in the default domain unless `domain` is given). */
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
      if (!(domain in DOMAIN_OPSETS)) throw new Error(`no opset version known for ${domain}`);
      m.string(7, domain);
      this.domains.add(domain);
    }
    this.nodes.push(m);
    return outputs;
  }

  /**
   * The ModelProto: IR 8, the given default-domain opset plus every contrib domain used. With
   * `placement.externalData`, spooled weights are referenced in that file at their spool offsets.
   */
  model(opset: number, producer = 'textgen onnx-writer', placement: TensorPlacement = {}): Message {
    const graph = new Message();
    for (const n of this.nodes) graph.message(1, n);
    graph.string(2, this.name);
    for (const t of this.initializers) graph.message(5, tensorProto(t, placement));
    for (const i of this.inputs) graph.message(11, valueInfo(i));
    for (const o of this.outputs) graph.message(12, valueInfo(o));
    const model = new Message()
      .int(1, 8)
      .string(2, producer)
      .message(7, graph)
      .message(8, new Message().string(1, '').int(2, opset));
    for (const d of this.domains)
      model.message(8, new Message().string(1, d).int(2, DOMAIN_OPSETS[d]));
    return model;
  }
}

/** Largest model written as one protobuf; protobuf refuses messages of 2 GiB and more. */
export const INLINE_LIMIT_BYTES = 2 ** 31 - 64 * 2 ** 20;

/**
 * Writes `builder`'s model to `path`. Without a spool the weights are inline. With one, a model under
 * {@link INLINE_LIMIT_BYTES} gets its spooled weights copied inline and the spool is deleted; a larger
 * one keeps the spool as `<file>_data` next to it (the name transformers.js looks for) and references
 * it. Returns the external data file's name, or undefined when the model is self-contained.
 */
export function writeModel(
  path: string,
  builder: GraphBuilder,
  opset: number,
  options: { producer?: string; inlineLimitBytes?: number } = {},
): string | undefined {
  const { producer, inlineLimitBytes = INLINE_LIMIT_BYTES } = options;
  const spool = builder.spool;
  if (!spool) {
    writeMessage(path, builder.model(opset, producer));
    return undefined;
  }
  if (spool.size < inlineLimitBytes) {
    try {
      writeMessage(path, builder.model(opset, producer));
    } finally {
      spool.close();
      rmSync(spool.path, { force: true });
    }
    return undefined;
  }
  spool.close();
  const externalData = `${basename(path)}_data`;
  renameSync(spool.path, `${path}_data`);
  writeMessage(path, builder.model(opset, producer, { externalData }));
  return externalData;
}
