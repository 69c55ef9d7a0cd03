/**
 * Reads the structure of an ONNX file without loading it: graph inputs and outputs (names and
 * shapes), every node (op, inputs, outputs, integer attributes; nodes of If/Loop subgraphs included)
 * and every initializer's name and dims. Weights are skipped by seeking, so a 2 GB file costs a few
 * reads of its headers. Pure protobuf through the project's one reader (onnx-writer/proto-reader.ts);
 * no onnxruntime. Used by the load-time
 * compatibility checks (compatibility.ts).
 */
import {
  fields,
  FileSource,
  packedVarints,
  stringOf,
  Wire,
  type Field,
} from '../onnx-writer/proto-reader.js';

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

/** Longest name or string read (names are short; anything longer means a damaged file). */
const MAX_STRING = 1 << 16;
/** Subgraph nesting followed (If inside Loop inside If ...). */
const MAX_DEPTH = 8;

/** The fields of the embedded message `f`. */
function inner(src: FileSource, f: Field): Generator<Field> {
  return fields(src, f.valueStart, f.end);
}

function text(src: FileSource, f: Field): string {
  if (f.end - f.valueStart > MAX_STRING) throw new RangeError('bad length');
  return stringOf(src, f);
}

function tensorDims(src: FileSource, f: Field): { name: string; dims: number[] } {
  let name = '';
  const dims: number[] = [];
  for (const t of inner(src, f)) {
    if (t.field === 1) dims.push(...packedVarints(src, t));
    else if (t.field === 8 && t.wire === Wire.bytes) name = text(src, t);
  }
  return { name, dims };
}

/** TensorShapeProto.Dimension: dim_value (1) or dim_param (2). */
function dimension(src: FileSource, f: Field): number | string {
  let dim: number | string = '?';
  for (const d of inner(src, f)) {
    if (d.field === 1 && d.wire === Wire.varint) dim = d.value;
    else if (d.field === 2 && d.wire === Wire.bytes) dim = text(src, d);
  }
  return dim;
}

/** TypeProto.Tensor: elem_type (1) and shape (2) → dim (1). */
function tensorType(src: FileSource, f: Field, value: OnnxValue): void {
  for (const t of inner(src, f)) {
    if (t.field === 1 && t.wire === Wire.varint) value.elemType = t.value;
    else if (t.field === 2 && t.wire === Wire.bytes)
      for (const d of inner(src, t))
        if (d.field === 1 && d.wire === Wire.bytes) value.dims.push(dimension(src, d));
  }
}

function valueInfo(src: FileSource, f: Field): OnnxValue {
  const value: OnnxValue = { name: '', elemType: 0, dims: [] };
  for (const v of inner(src, f)) {
    if (v.wire !== Wire.bytes) continue;
    if (v.field === 1) value.name = text(src, v);
    else if (v.field === 2)
      // TypeProto.tensor_type (1).
      for (const t of inner(src, v))
        if (t.field === 1 && t.wire === Wire.bytes) tensorType(src, t, value);
  }
  return value;
}

function node(src: FileSource, f: Field, graph: OnnxGraph, depth: number): void {
  const n: OnnxNode = { op: '', domain: '', inputs: [], outputs: [], ints: {} };
  for (const x of inner(src, f)) {
    if (x.wire !== Wire.bytes) continue;
    if (x.field === 1) n.inputs.push(text(src, x));
    else if (x.field === 2) n.outputs.push(text(src, x));
    else if (x.field === 4) n.op = text(src, x);
    else if (x.field === 7) n.domain = text(src, x);
    else if (x.field === 5) attribute(src, x, n, graph, depth);
  }
  graph.nodes.push(n);
}

function attribute(src: FileSource, f: Field, n: OnnxNode, graph: OnnxGraph, depth: number): void {
  let name = '';
  let int: number | undefined;
  for (const a of inner(src, f)) {
    if (a.field === 1 && a.wire === Wire.bytes) name = text(src, a);
    else if (a.field === 3 && a.wire === Wire.varint) int = a.value;
    else if ((a.field === 6 || a.field === 11) && a.wire === Wire.bytes && depth < MAX_DEPTH)
      graphBody(src, a, graph, depth + 1, false);
  }
  if (name && int !== undefined) n.ints[name] = int;
}

function graphBody(src: FileSource, f: Field, graph: OnnxGraph, depth: number, top: boolean): void {
  for (const g of inner(src, f)) {
    if (g.wire !== Wire.bytes) continue;
    if (g.field === 1) node(src, g, graph, depth);
    else if (g.field === 5) {
      const t = tensorDims(src, g);
      graph.initializers.set(t.name, t.dims);
    } else if (top && g.field === 11) graph.inputs.push(valueInfo(src, g));
    else if (top && g.field === 12) graph.outputs.push(valueInfo(src, g));
  }
}

/**
 * Reads the structure of the ONNX file at `path`; undefined when the file cannot be parsed (the
 * session then reports the damage in its own words).
 */
export function readOnnxGraph(path: string): OnnxGraph | undefined {
  let src: FileSource | undefined;
  try {
    // A small window: the walk jumps over every weight, and each jump refills it.
    src = new FileSource(path, 1 << 16);
    const graph: OnnxGraph = { inputs: [], outputs: [], nodes: [], initializers: new Map() };
    let found = false;
    for (const f of fields(src, 0, src.size))
      if (f.field === 7 && f.wire === Wire.bytes) {
        found = true;
        graphBody(src, f, graph, 0, true);
      }
    // Initializers listed as graph inputs (old exporters) are weights, not inputs to feed.
    graph.inputs = graph.inputs.filter((i) => !graph.initializers.has(i.name));
    return found ? graph : undefined;
  } catch {
    return undefined;
  } finally {
    src?.close();
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
