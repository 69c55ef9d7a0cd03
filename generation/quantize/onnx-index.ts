/**
 * Indexes an ONNX ModelProto on disk without loading its weights: the top-level fields, the graph's
 * nodes (with the subgraphs of If/Loop/Scan attributes, recursively), and each initializer's name,
 * shape, type and where its data lies (inline raw_data, a typed repeated field, or an external file).
 */
import { dirname, isAbsolute, join, normalize } from 'node:path';
import {
  fields,
  floatOf,
  packedVarints,
  stringOf,
  Wire,
  type Field,
  type FileSource,
} from '../onnx-writer/proto-reader.js';

/** ONNX TensorProto.DataType values this module reads or writes. */
export const OnnxType = {
  float: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
} as const;

/** Where an initializer's bytes are. */
export type TensorData =
  | { kind: 'raw'; start: number; end: number }
  | { kind: 'float-list'; start: number; end: number }
  | { kind: 'external'; path: string; offset: number; length: number }
  | { kind: 'other' };

/** An initializer, as found in its graph. */
export interface TensorRef {
  name: string;
  dims: number[];
  dataType: number;
  data: TensorData;
  /** The initializer field in its graph (copied as is when the tensor is kept). */
  field: Field;
  /** Its own fields (for re-encoding an external tensor inline). */
  fields: Field[];
}

/** A node attribute: scalar values decoded, subgraphs indexed. */
export interface AttrRef {
  name: string;
  field: Field;
  i?: number;
  f?: number;
  ints?: number[];
  graphs: Array<{ field: Field; graph: GraphRef }>;
}

/** A node. */
export interface NodeRef {
  field: Field;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: AttrRef[];
}

/** A graph (the main graph or a subgraph of an attribute). */
export interface GraphRef {
  fields: Field[];
  nodes: NodeRef[];
  initializers: TensorRef[];
  /** Names of the graph's declared inputs and outputs. */
  inputs: string[];
  outputs: string[];
}

/** The indexed model. */
export interface ModelIndex {
  src: FileSource;
  fields: Field[];
  graph: GraphRef;
  graphField: Field;
  opsets: Array<{ domain: string; version: number }>;
}

/** Indexes the model file behind `src`; throws RangeError on malformed protobuf. */
export function indexModel(src: FileSource): ModelIndex {
  const top = [...fields(src, 0, src.size)];
  const graphField = top.find((f) => f.field === 7 && f.wire === Wire.bytes);
  if (!graphField) throw new RangeError(`${src.path} has no graph`);
  const opsets = top
    .filter((f) => f.field === 8 && f.wire === Wire.bytes)
    .map((f) => {
      let domain = '';
      let version = 0;
      for (const g of fields(src, f.valueStart, f.end)) {
        if (g.field === 1) domain = stringOf(src, g);
        else if (g.field === 2) version = g.value;
      }
      return { domain, version };
    });
  const baseDir = dirname(src.path);
  return {
    src,
    fields: top,
    graph: indexGraph(src, graphField, baseDir),
    graphField,
    opsets,
  };
}

function indexGraph(src: FileSource, at: Field, baseDir: string): GraphRef {
  const graph: GraphRef = { fields: [], nodes: [], initializers: [], inputs: [], outputs: [] };
  for (const f of fields(src, at.valueStart, at.end)) {
    graph.fields.push(f);
    if (f.wire !== Wire.bytes) continue;
    if (f.field === 1) graph.nodes.push(indexNode(src, f, baseDir));
    else if (f.field === 5) graph.initializers.push(indexTensor(src, f, baseDir));
    else if (f.field === 11 || f.field === 12) {
      const name = [...fields(src, f.valueStart, f.end)].find((g) => g.field === 1);
      (f.field === 11 ? graph.inputs : graph.outputs).push(name ? stringOf(src, name) : '');
    }
  }
  return graph;
}

function indexNode(src: FileSource, at: Field, baseDir: string): NodeRef {
  const node: NodeRef = {
    field: at,
    name: '',
    opType: '',
    domain: '',
    inputs: [],
    outputs: [],
    attrs: [],
  };
  for (const f of fields(src, at.valueStart, at.end)) {
    if (f.field === 1) node.inputs.push(stringOf(src, f));
    else if (f.field === 2) node.outputs.push(stringOf(src, f));
    else if (f.field === 3) node.name = stringOf(src, f);
    else if (f.field === 4) node.opType = stringOf(src, f);
    else if (f.field === 7) node.domain = stringOf(src, f);
    else if (f.field === 5) node.attrs.push(indexAttr(src, f, baseDir));
  }
  if (node.domain === 'ai.onnx') node.domain = '';
  return node;
}

function indexAttr(src: FileSource, at: Field, baseDir: string): AttrRef {
  const attr: AttrRef = { name: '', field: at, graphs: [] };
  for (const f of fields(src, at.valueStart, at.end)) {
    if (f.field === 1) attr.name = stringOf(src, f);
    else if (f.field === 2 && f.wire === Wire.fixed32) attr.f = floatOf(src, f);
    else if (f.field === 3 && f.wire === Wire.varint) attr.i = f.value;
    else if (f.field === 8) attr.ints = [...(attr.ints ?? []), ...packedVarints(src, f)];
    else if ((f.field === 6 || f.field === 11) && f.wire === Wire.bytes)
      attr.graphs.push({ field: f, graph: indexGraph(src, f, baseDir) });
  }
  return attr;
}

function indexTensor(src: FileSource, at: Field, baseDir: string): TensorRef {
  const t: TensorRef = {
    name: '',
    dims: [],
    dataType: 0,
    data: { kind: 'other' },
    field: at,
    fields: [],
  };
  const external: Record<string, string> = {};
  let location = 0;
  for (const f of fields(src, at.valueStart, at.end)) {
    t.fields.push(f);
    if (f.field === 1) t.dims.push(...packedVarints(src, f));
    else if (f.field === 2) t.dataType = f.value;
    else if (f.field === 8) t.name = stringOf(src, f);
    else if (f.field === 9) t.data = { kind: 'raw', start: f.valueStart, end: f.end };
    else if (f.field === 4 && f.wire === Wire.bytes)
      t.data = { kind: 'float-list', start: f.valueStart, end: f.end };
    else if (f.field === 14) location = f.value;
    else if (f.field === 13) {
      let key = '';
      let value = '';
      for (const g of fields(src, f.valueStart, f.end)) {
        if (g.field === 1) key = stringOf(src, g);
        else if (g.field === 2) value = stringOf(src, g);
      }
      external[key] = value;
    }
  }
  if (location === 1) {
    const rel = external.location ?? '';
    const path = normalize(isAbsolute(rel) ? rel : join(baseDir, rel));
    const count = t.dims.reduce((a, b) => a * b, 1);
    const length = external.length !== undefined ? Number(external.length) : count * 4;
    t.data = { kind: 'external', path, offset: Number(external.offset ?? 0), length };
  }
  return t;
}

/** Element count of a shape. */
export function elementCount(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Every graph of the model, the main graph first, then subgraphs depth first. */
export function allGraphs(graph: GraphRef): GraphRef[] {
  const out = [graph];
  for (const n of graph.nodes)
    for (const a of n.attrs) for (const g of a.graphs) out.push(...allGraphs(g.graph));
  return out;
}
