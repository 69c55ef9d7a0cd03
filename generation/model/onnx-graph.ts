/**
 * Reads the structure of an ONNX file without loading it: graph inputs and outputs (names and
 * shapes), every node (op, inputs, outputs, integer attributes; nodes of If/Loop subgraphs included)
 * and every initializer's name and dims. Weights are skipped by seeking, so a 2 GB file costs a few
 * reads of its headers. Pure protobuf over a file descriptor; no onnxruntime. Used by the load-time
 * compatibility checks (compatibility.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A graph input or output: its name, element type (TensorProto.DataType) and dims. */
export interface OnnxValue {
  name: string;
  /** 1 float32, 10 float16, 16 bfloat16, 7 int64, 6 int32, ...; 0 when not a tensor. */
  elemType: number;
  dims: Array<number | string>;
}

/** One node. */
export interface OnnxNode {
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (axis, ...). */
  ints: Record<string, number>;
}

/** What compatibility checks need to know about a model file. */
export interface OnnxGraph {
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  nodes: OnnxNode[];
  /** Initializer name → dims. */
  initializers: Map<string, number[]>;
}

/** Buffered reads at any offset of a file. */
class Cursor {
  pos = 0;
  private buf = Buffer.alloc(1 << 16);
  private start = 0;
  private end = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  private byteAt(at: number): number {
    if (at >= this.size) throw new RangeError('truncated ONNX file');
    if (at < this.start || at >= this.end) {
      this.start = at;
      this.end = at + readSync(this.fd, this.buf, 0, this.buf.length, at);
      if (this.end <= at) throw new RangeError('short read');
    }
    return this.buf[at - this.start];
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byteAt(this.pos++);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new RangeError('bad varint');
  }

  bytes(length: number): Buffer {
    if (length > MAX_STRING || this.pos + length > this.size) throw new RangeError('bad length');
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.byteAt(this.pos + i);
    this.pos += length;
    return out;
  }

  /** Skips a field's value of wire type `wire`. */
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const length = this.varint();
      this.pos += length;
    } else if (wire === 5) this.pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
    if (this.pos > this.size) throw new RangeError('truncated ONNX file');
  }
}

/** Longest name or string read (names are short; anything longer is skipped as data). */
const MAX_STRING = 1 << 16;
/** Subgraph nesting followed (If inside Loop inside If ...). */
const MAX_DEPTH = 8;

/** Calls `field` for every field up to `end`; the callback must consume or skip the value. */
function fields(c: Cursor, end: number, field: (no: number, wire: number) => void): void {
  while (c.pos < end) {
    const key = c.varint();
    const before = c.pos;
    field(Math.floor(key / 8), key & 7);
    if (c.pos === before) c.skip(key & 7);
  }
  if (c.pos !== end) throw new RangeError('field overruns its message');
}

function message(c: Cursor, read: (end: number) => void): void {
  const length = c.varint();
  const end = c.pos + length;
  if (end > c.size) throw new RangeError('truncated message');
  read(end);
}

function text(c: Cursor): string {
  return c.bytes(c.varint()).toString('utf8');
}

function tensorDims(c: Cursor, end: number): { name: string; dims: number[] } {
  let name = '';
  const dims: number[] = [];
  fields(c, end, (no, wire) => {
    if (no === 1 && wire === 0) dims.push(c.varint());
    else if (no === 1 && wire === 2)
      message(c, (e) => {
        while (c.pos < e) dims.push(c.varint());
      });
    else if (no === 8 && wire === 2) name = text(c);
  });
  return { name, dims };
}

function valueInfo(c: Cursor, end: number): OnnxValue {
  const value: OnnxValue = { name: '', elemType: 0, dims: [] };
  fields(c, end, (no, wire) => {
    if (no === 1 && wire === 2) value.name = text(c);
    else if (no === 2 && wire === 2)
      // TypeProto.tensor_type(1).shape(2).dim(1).{dim_value(1) | dim_param(2)}
      message(c, (e1) =>
        fields(c, e1, (n1, w1) => {
          if (n1 !== 1 || w1 !== 2) return;
          message(c, (e2) =>
            fields(c, e2, (n2, w2) => {
              if (n2 === 1 && w2 === 0) value.elemType = c.varint();
              if (n2 !== 2 || w2 !== 2) return;
              message(c, (e3) =>
                fields(c, e3, (n3, w3) => {
                  if (n3 !== 1 || w3 !== 2) return;
                  let dim: number | string = '?';
                  message(c, (e4) =>
                    fields(c, e4, (n4, w4) => {
                      if (n4 === 1 && w4 === 0) dim = c.varint();
                      else if (n4 === 2 && w4 === 2) dim = text(c);
                    }),
                  );
                  value.dims.push(dim);
                }),
              );
            }),
          );
        }),
      );
  });
  return value;
}

function node(c: Cursor, end: number, graph: OnnxGraph, depth: number): void {
  const n: OnnxNode = { op: '', domain: '', inputs: [], outputs: [], ints: {} };
  fields(c, end, (no, wire) => {
    if (wire !== 2) return;
    if (no === 1) n.inputs.push(text(c));
    else if (no === 2) n.outputs.push(text(c));
    else if (no === 4) n.op = text(c);
    else if (no === 7) n.domain = text(c);
    else if (no === 5) message(c, (e) => attribute(c, e, n, graph, depth));
  });
  graph.nodes.push(n);
}

function attribute(c: Cursor, end: number, n: OnnxNode, graph: OnnxGraph, depth: number): void {
  let name = '';
  let int: number | undefined;
  fields(c, end, (no, wire) => {
    if (no === 1 && wire === 2) name = text(c);
    else if (no === 3 && wire === 0) int = c.varint();
    else if ((no === 6 || no === 11) && wire === 2 && depth < MAX_DEPTH)
      message(c, (e) => graphBody(c, e, graph, depth + 1, false));
  });
  if (name && int !== undefined) n.ints[name] = int;
}

function graphBody(c: Cursor, end: number, graph: OnnxGraph, depth: number, top: boolean): void {
  fields(c, end, (no, wire) => {
    if (wire !== 2) return;
    if (no === 1) message(c, (e) => node(c, e, graph, depth));
    else if (no === 5)
      message(c, (e) => {
        const t = tensorDims(c, e);
        graph.initializers.set(t.name, t.dims);
      });
    else if (top && no === 11) message(c, (e) => graph.inputs.push(valueInfo(c, e)));
    else if (top && no === 12) message(c, (e) => graph.outputs.push(valueInfo(c, e)));
  });
}

/**
 * Reads the structure of the ONNX file at `path`; undefined when the file cannot be parsed (the
 * session then reports the damage in its own words).
 */
export function readOnnxGraph(path: string): OnnxGraph | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const c = new Cursor(fd, fstatSync(fd).size);
    const graph: OnnxGraph = { inputs: [], outputs: [], nodes: [], initializers: new Map() };
    let found = false;
    fields(c, c.size, (no, wire) => {
      if (no === 7 && wire === 2) {
        found = true;
        message(c, (e) => graphBody(c, e, graph, 0, true));
      }
    });
    // Initializers listed as graph inputs (old exporters) are weights, not inputs to feed.
    graph.inputs = graph.inputs.filter((i) => !graph.initializers.has(i.name));
    return found ? graph : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** TensorProto.DataType of float16. */
const FLOAT16 = 10;

/**
 * The transformers.js dtype name that describes a graph's weights, from its ops and tensor types:
 * MatMulNBits (4-bit: q4, or q4f16 with fp16 activations; 8-bit: q8), dynamic int8 (q8), fp16
 * activations (fp16), else fp32. For folders that name no dtype (onnxruntime-genai).
 */
export function graphDtype(graph: OnnxGraph): 'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16' {
  const half = [...graph.inputs, ...graph.outputs].some((v) => v.elemType === FLOAT16);
  const nbits = graph.nodes.find((n) => n.op === 'MatMulNBits');
  if (nbits) return (nbits.ints.bits ?? 4) === 8 ? 'q8' : half ? 'q4f16' : 'q4';
  if (graph.nodes.some((n) => n.op === 'MatMulInteger' || n.op === 'DynamicQuantizeMatMul'))
    return 'q8';
  return half ? 'fp16' : 'fp32';
}
