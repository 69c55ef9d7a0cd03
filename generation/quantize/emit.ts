/**
 * Builds the quantized ModelProto from the source index and a plan: untouched fields are byte ranges
 * of the source (copied verbatim), replaced nodes become MatMulNBits, DynamicQuantizeLinear →
 * MatMulInteger chains or GatherBlockQuantized lookups, and each quantized weight is a lazily produced
 * payload computed when the writer reaches it, so one weight at a time is in memory.
 */
import {
  blocksPerColumn,
  gatherBlockQuantizedAttributes,
  int8Error,
  matMulNBitsAttributes,
  packBlocks,
  packedError,
  quantizeInt8Columns,
  quantizeInt8Rows,
  transpose,
  type Int8Columns,
  type PackedBlocks,
} from '../onnx-writer/block-quant.js';
import {
  OnnxType,
  type GraphRef,
  type ModelIndex,
  type NodeRef,
  type TensorRef,
} from './onnx-index.js';
import { OutMessage } from './out-message.js';
import { freshName, type Plan, type Rewrite, type WeightPlan } from './plan.js';
import { fields, stringOf, type FileSource } from '../onnx-writer/proto-reader.js';
import type { TensorData } from './tensor-data.js';

/** What happened to one weight, for quantize_report.json. */
export interface WeightReport {
  name: string;
  shape: number[];
  /** e.g. "q4 (block 32)", "int8 (per column)". */
  form: string[];
  head: boolean;
  /** Relative RMS error of each form, in the order of `form`. */
  relError: number[];
  bytesBefore: number;
  bytesAfter: number;
}

type Attr = number | number[];

interface NodeSpec {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
}

function encodeNode(spec: NodeSpec, name: string): OutMessage {
  const m = new OutMessage();
  for (const i of spec.inputs) m.string(1, i);
  for (const o of spec.outputs) m.string(2, o);
  m.string(3, name).string(4, spec.op);
  for (const [k, v] of Object.entries(spec.attrs ?? {})) {
    const a = new OutMessage().string(1, k);
    if (Array.isArray(v)) a.packedInts(8, v).int(20, 7);
    else a.int(3, v).int(20, 2);
    m.message(5, a);
  }
  if (spec.domain) m.string(7, spec.domain);
  return m;
}

function tensorHeader(name: string, dims: number[], type: number): OutMessage {
  return new OutMessage().packedInts(1, dims).int(2, type).string(8, name);
}

function int64Tensor(name: string, values: number[]): OutMessage {
  const data = new Uint8Array(values.length * 8);
  const view = new DataView(data.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return tensorHeader(name, [values.length], OnnxType.int64).bytes(9, data);
}

function bytesOf(a: Float32Array | Int8Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The quantized forms of one weight, computed once and handed out part by part. */
interface Produced {
  plan: WeightPlan;
  nbits?: PackedBlocks;
  int8?: Int8Columns;
}

/** Emits the rewritten model for `plan`; `reports` receives one entry per planned weight. */
export class ModelEmitter {
  private produced?: Produced;
  private readonly extraInits = new Map<GraphRef, OutMessage[]>();
  private readonly gatherConsts = new Map<WeightPlan, { shape3: string; width: string }>();
  private readonly columnShapes = new Map<WeightPlan, string>();
  private zeroPoint?: string;
  readonly reports: WeightReport[] = [];
  private readonly removedValues: Set<string>;

  constructor(
    private readonly index: ModelIndex,
    private readonly plan: Plan,
    private readonly data: TensorData,
    private readonly options: { blockSize: number; metadata: string },
  ) {
    this.removedValues = new Set([...plan.removedNodes].flatMap((n) => n.outputs));
  }

  /** The whole model (top-level fields in source order; the graph re-emitted). */
  model(): OutMessage {
    const { src } = this.index;
    const out = new OutMessage();
    // MatMulNBits and GatherBlockQuantized are com.microsoft ops; the int8 forms are standard.
    const needsMs =
      [...this.plan.rewrites.values()].some((r) => r.kind === 'nbits' || !r.weight.int8) &&
      !this.index.opsets.some((o) => o.domain === 'com.microsoft');
    for (const f of this.index.fields) {
      if (f === this.index.graphField) out.message(7, this.graph(this.index.graph));
      else out.copy(src, f.start, f.end);
    }
    if (needsMs) out.message(8, new OutMessage().string(1, 'com.microsoft').int(2, 1));
    out.message(
      14,
      new OutMessage().string(1, 'textgen.quantize').string(2, this.options.metadata),
    );
    return out;
  }

  private graph(g: GraphRef): OutMessage {
    const { src } = this.index;
    const out = new OutMessage();
    const nodes = new Map(g.nodes.map((n) => [n.field, n]));
    const inits = new Map(g.initializers.map((t) => [t.field, t]));
    const owned = this.plan.weights.filter((w) => w.owner === g);
    for (const f of g.fields) {
      const node = nodes.get(f);
      const init = inits.get(f);
      if (node) {
        if (this.plan.removedNodes.has(node)) continue;
        const r = this.plan.rewrites.get(node);
        if (r) for (const m of this.expand(node, r)) out.message(1, m);
        else out.message(1, this.node(node));
      } else if (init) {
        if (!this.plan.removedTensors.has(init)) out.message(5, this.keptTensor(init));
        for (const w of owned.filter((p) => p.tensor === init))
          for (const m of this.weightTensors(w)) out.message(5, m);
      } else if (f.field === 13 && this.removedValues.has(valueName(src, f))) continue;
      else out.copy(src, f.start, f.end);
    }
    for (const m of this.extraInits.get(g) ?? []) out.message(5, m);
    return out;
  }

  /** A node kept as is, except that subgraph attributes are re-emitted (their contents may change). */
  private node(n: NodeRef): OutMessage {
    const { src } = this.index;
    const hasGraphs = n.attrs.some((a) => a.graphs.length > 0);
    const out = new OutMessage();
    if (!hasGraphs) return out.copy(src, n.field.valueStart, n.field.end);
    const attrs = new Map(n.attrs.map((a) => [a.field.start, a]));
    for (const f of fields(src, n.field.valueStart, n.field.end)) {
      const a = attrs.get(f.start);
      if (!a || a.graphs.length === 0) {
        out.copy(src, f.start, f.end);
        continue;
      }
      const attr = new OutMessage();
      const sub = new Map(a.graphs.map((g) => [g.field.start, g.graph]));
      for (const af of fields(src, a.field.valueStart, a.field.end)) {
        const g = sub.get(af.start);
        if (g) attr.message(af.field, this.graph(g));
        else attr.copy(src, af.start, af.end);
      }
      out.message(5, attr);
    }
    return out;
  }

  /** A kept initializer: copied, or made inline when its data was external. */
  private keptTensor(t: TensorRef): OutMessage {
    const { src } = this.index;
    const out = new OutMessage();
    if (t.data.kind !== 'external') return out.copy(src, t.field.valueStart, t.field.end);
    for (const f of t.fields) if (f.field !== 13 && f.field !== 14) out.copy(src, f.start, f.end);
    const loc = this.data.location(t);
    return out.copyBytes(9, loc.src, loc.start, loc.end);
  }

  private uniqueNodeName(base: string): string {
    return freshName(this.plan.names, `${base || 'node'}_quant`);
  }

  private value(base: string): string {
    return freshName(this.plan.names, base);
  }

  /** The nodes that replace `n`. */
  private expand(n: NodeRef, r: Rewrite): OutMessage[] {
    const out = n.outputs[0];
    const w = r.weight;
    const specs: NodeSpec[] = [];
    if (r.kind === 'nbits') {
      const nb = w.nbits!;
      const inputs = [r.x, nb.data, nb.scales, ...(r.bias ? ['', '', r.bias] : [])];
      specs.push({
        op: 'MatMulNBits',
        domain: 'com.microsoft',
        inputs,
        outputs: [out],
        attrs: matMulNBitsAttributes(w.n, w.k, nb.bits, this.options.blockSize),
      });
    } else if (r.kind === 'int8') {
      const q = w.int8!;
      const [xq, xs, xz] = [`${out}_xq`, `${out}_xscale`, `${out}_xzero`].map((s) => this.value(s));
      const [yi, yf, scale] = [`${out}_int32`, `${out}_float`, `${out}_scale`].map((s) =>
        this.value(s),
      );
      const product = r.bias ? this.value(`${out}_nobias`) : out;
      // A row-major [N, K] weight (a tied embedding) is read through a Transpose that onnxruntime
      // folds into a constant at load, so the file holds one copy for the lookup and the head.
      let b = q.data;
      if (w.layout === 'NK') {
        b = this.value(`${out}_weight`);
        specs.push({ op: 'Transpose', inputs: [q.data], outputs: [b], attrs: { perm: [1, 0] } });
      }
      specs.push(
        { op: 'DynamicQuantizeLinear', inputs: [r.x], outputs: [xq, xs, xz] },
        { op: 'MatMulInteger', inputs: [xq, b, xz, this.int8ZeroPoint()], outputs: [yi] },
        { op: 'Cast', inputs: [yi], outputs: [yf], attrs: { to: OnnxType.float } },
        { op: 'Mul', inputs: [xs, q.scales], outputs: [scale] },
        { op: 'Mul', inputs: [yf, scale], outputs: [product] },
      );
      if (r.bias) specs.push({ op: 'Add', inputs: [product, r.bias], outputs: [out] });
    } else if (w.int8) {
      // Rows of the int8 table, each times its own scale: Gather, Cast, and the scale gathered too.
      const q = w.int8;
      const [rows, rowsF, s2, rowScale] = ['int8', 'float', 'scales2', 'scale'].map((s) =>
        this.value(`${out}_${s}`),
      );
      specs.push(
        { op: 'Gather', inputs: [q.data, r.ids], outputs: [rows], attrs: { axis: 0 } },
        { op: 'Cast', inputs: [rows], outputs: [rowsF], attrs: { to: OnnxType.float } },
        { op: 'Reshape', inputs: [q.scales, this.columnShape(w)], outputs: [s2] },
        { op: 'Gather', inputs: [s2, r.ids], outputs: [rowScale], attrs: { axis: 0 } },
        { op: 'Mul', inputs: [rowsF, rowScale], outputs: [out] },
      );
    } else {
      const nb = w.nbits!;
      const c = this.gatherConstants(w);
      const [s3, rows, idShape, shape] = ['scales3', 'blocks', 'ids_shape', 'shape'].map((s) =>
        this.value(`${out}_${s}`),
      );
      specs.push(
        { op: 'Reshape', inputs: [nb.scales, c.shape3], outputs: [s3] },
        {
          op: 'GatherBlockQuantized',
          domain: 'com.microsoft',
          inputs: [nb.data, r.ids, s3],
          outputs: [rows],
          attrs: {
            ...gatherBlockQuantizedAttributes(nb.bits, this.options.blockSize),
            quantize_axis: 2,
          },
        },
        { op: 'Shape', inputs: [r.ids], outputs: [idShape] },
        { op: 'Concat', inputs: [idShape, c.width], outputs: [shape], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: [rows, shape], outputs: [out] },
      );
    }
    return specs.map((s) => encodeNode(s, this.uniqueNodeName(n.name || out)));
  }

  private int8ZeroPoint(): string {
    if (!this.zeroPoint) {
      this.zeroPoint = freshName(this.plan.names, 'textgen_int8_zero_point');
      const t = tensorHeader(this.zeroPoint, [], OnnxType.int8).bytes(9, new Uint8Array(1));
      this.addInit(this.index.graph, t);
    }
    return this.zeroPoint;
  }

  /** [N, blocks, 1] for the scales and [K] for the row width, as int64 initializers beside the weight. */
  private gatherConstants(w: WeightPlan): { shape3: string; width: string } {
    let c = this.gatherConsts.get(w);
    if (!c) {
      c = {
        shape3: freshName(this.plan.names, `${w.tensor.name}_scales_shape`),
        width: freshName(this.plan.names, `${w.tensor.name}_width`),
      };
      this.addInit(
        w.owner,
        int64Tensor(c.shape3, [w.n, blocksPerColumn(w.k, this.options.blockSize), 1]),
      );
      this.addInit(w.owner, int64Tensor(c.width, [w.k]));
      this.gatherConsts.set(w, c);
    }
    return c;
  }

  /** [N, 1] as an int64 initializer beside the weight: per-row scales as a column. */
  private columnShape(w: WeightPlan): string {
    let name = this.columnShapes.get(w);
    if (!name) {
      name = freshName(this.plan.names, `${w.tensor.name}_scales_column`);
      this.addInit(w.owner, int64Tensor(name, [w.n, 1]));
      this.columnShapes.set(w, name);
    }
    return name;
  }

  private addInit(g: GraphRef, t: OutMessage): void {
    this.extraInits.set(g, [...(this.extraInits.get(g) ?? []), t]);
  }

  /** The quantized initializers of one weight, with lazily produced payloads. */
  private weightTensors(w: WeightPlan): OutMessage[] {
    const out: OutMessage[] = [];
    const bs = this.options.blockSize;
    const blocks = blocksPerColumn(w.k, bs);
    if (w.nbits) {
      const { bits, data, scales } = w.nbits;
      const blob = (bs * bits) / 8;
      out.push(
        tensorHeader(data, [w.n, blocks, blob], OnnxType.uint8).lazyBytes(
          9,
          w.n * blocks * blob,
          () => this.produce(w).nbits!.data,
        ),
        tensorHeader(scales, [w.n, blocks], OnnxType.float).lazyBytes(9, w.n * blocks * 4, () =>
          bytesOf(this.produce(w).nbits!.scales),
        ),
      );
    }
    if (w.int8) {
      out.push(
        tensorHeader(
          w.int8.data,
          w.layout === 'KN' ? [w.k, w.n] : [w.n, w.k],
          OnnxType.int8,
        ).lazyBytes(9, w.k * w.n, () => bytesOf(this.produce(w).int8!.data)),
        tensorHeader(w.int8.scales, [w.n], OnnxType.float).lazyBytes(9, w.n * 4, () =>
          bytesOf(this.produce(w).int8!.scales),
        ),
      );
    }
    return out;
  }

  /** Quantizes `w` (once) into every form it is planned in, and records its report entry. */
  private produce(w: WeightPlan): Produced {
    if (this.produced?.plan === w) return this.produced;
    const source = this.data.float32(w.tensor);
    const p: Produced = { plan: w };
    const report: WeightReport = {
      name: w.tensor.name,
      shape: w.tensor.dims,
      form: [],
      head: w.head,
      relError: [],
      bytesBefore: source.byteLength,
      bytesAfter: 0,
    };
    const bs = this.options.blockSize;
    if (w.nbits) {
      const nk = w.layout === 'NK' ? source : transpose(source, w.k, w.n);
      p.nbits = packBlocks(nk, w.n, w.k, w.nbits.bits, bs);
      report.form.push(`q${w.nbits.bits} (block ${bs})`);
      report.relError.push(packedError(nk, p.nbits, w.n, w.k, w.nbits.bits, bs));
      report.bytesAfter += p.nbits.data.length + p.nbits.scales.byteLength;
    }
    if (w.int8) {
      const rows = w.layout === 'NK';
      p.int8 = rows ? quantizeInt8Rows(source, w.n, w.k) : quantizeInt8Columns(source, w.k, w.n);
      report.form.push('int8 (per channel)');
      report.relError.push(
        rows
          ? int8Error(source, p.int8, w.n, w.k, 'row')
          : int8Error(source, p.int8, w.k, w.n, 'column'),
      );
      report.bytesAfter += p.int8.data.length + p.int8.scales.byteLength;
    }
    this.reports.push(report);
    this.produced = p;
    return p;
  }
}

function valueName(src: FileSource, f: { valueStart: number; end: number }): string {
  for (const g of fields(src, f.valueStart, f.end)) if (g.field === 1) return stringOf(src, g);
  return '';
}
