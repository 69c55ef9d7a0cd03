/**
 * Decides what the rewrite does to one ONNX graph (and its If/Loop subgraphs): which MatMul, Gemm and
 * embedding Gather nodes read a constant 2-D fp32 weight, how each weight is stored (MatMulNBits
 * blocks or per-column int8), which nodes are replaced, and which source tensors and nodes go away.
 * Weights are planned per initializer, so a weight shared by both branches of a merged decoder, or by
 * a tied head and the embedding lookup, is quantized once.
 */
import { allGraphs, OnnxType, type GraphRef, type NodeRef, type TensorRef } from './onnx-index.js';

/** The dtypes `textgen quantize` writes. */
export type QuantDtype = 'q4' | 'q8' | 'int8';
/**
 * How the LM head and the token embedding are stored: q8 8-bit (per-channel int8 for MatMulInteger
 * with the q4 and int8 dtypes, the embedding rows looked up in the same int8 matrix; 8-bit
 * MatMulNBits blocks with the q8 dtype), q4 MatMulNBits 4-bit blocks (GatherBlockQuantized for the
 * lookup), or fp32 (left alone).
 */
export type HeadMode = 'q8' | 'q4' | 'fp32';

/** Options of a rewrite. */
export interface QuantOptions {
  dtype: QuantDtype;
  blockSize: number;
  head: HeadMode;
  /** config.json's vocab_size: a weight with this many output columns is the LM head. */
  vocabSize?: number;
}

/** A source weight and the quantized tensors made from it. */
export interface WeightPlan {
  tensor: TensorRef;
  /** The graph whose initializer it is; new tensors go there too, visible to the same nodes. */
  owner: GraphRef;
  /** Output columns and reduction length of the product it takes part in. */
  n: number;
  k: number;
  /**
   * [K, N] as MatMul's B, or [N, K] (an embedding read through Transpose, Gemm with transB). int8
   * weights keep the source layout (per-column or per-row scales), so a tied embedding is stored once.
   */
  layout: 'KN' | 'NK';
  head: boolean;
  nbits?: { bits: 4 | 8; data: string; scales: string };
  int8?: { data: string; scales: string };
}

/** A node replaced by quantized nodes. */
export type Rewrite =
  | { kind: 'nbits'; x: string; weight: WeightPlan; bias?: string }
  | { kind: 'int8'; x: string; weight: WeightPlan; bias?: string }
  | { kind: 'gather'; ids: string; weight: WeightPlan };

/** What the rewrite does. */
export interface Plan {
  weights: WeightPlan[];
  rewrites: Map<NodeRef, Rewrite>;
  /** Transpose nodes folded into the quantized weight they fed. */
  removedNodes: Set<NodeRef>;
  /** Source initializers no node reads any more. */
  removedTensors: Set<TensorRef>;
  /** Why weights that looked quantizable were left as they are. */
  skipped: string[];
  /** Every value and tensor name in the model, for picking fresh ones. */
  names: Set<string>;
}

/** Ops of an already quantized graph. */
export const QUANTIZED_OPS = new Set([
  'MatMulNBits',
  'MatMulBnb4',
  'MatMulInteger',
  'MatMulIntegerToFloat',
  'DynamicQuantizeLinear',
  'DynamicQuantizeMatMul',
  'QuantizeLinear',
  'DequantizeLinear',
  'QLinearMatMul',
  'GatherBlockQuantized',
  'QAttention',
]);

interface Scope {
  graph: GraphRef;
  parent?: Scope;
  inits: Map<string, TensorRef>;
  inputs: Set<string>;
}

interface Resolved {
  tensor: TensorRef;
  owner: GraphRef;
}

function resolve(scope: Scope | undefined, name: string): Resolved | undefined {
  for (let s = scope; s; s = s.parent) {
    if (s.inputs.has(name)) return undefined;
    const t = s.inits.get(name);
    if (t) return { tensor: t, owner: s.graph };
  }
  return undefined;
}

function isWeight(r: Resolved | undefined): r is Resolved {
  return Boolean(
    r &&
    r.tensor.dataType === OnnxType.float &&
    r.tensor.dims.length === 2 &&
    r.tensor.data.kind !== 'other',
  );
}

function attr(node: NodeRef, name: string): { i?: number; f?: number; ints?: number[] } {
  return node.attrs.find((a) => a.name === name) ?? {};
}

interface Candidate {
  node: NodeRef;
  scope: Scope;
  kind: 'matmul' | 'gather';
  /** The activation (matmul) or the ids (gather). */
  input: string;
  weight: Resolved;
  layout: 'KN' | 'NK';
  bias?: string;
  transpose?: NodeRef;
}

function scopesOf(main: GraphRef): Map<GraphRef, Scope> {
  const scopes = new Map<GraphRef, Scope>();
  const visit = (graph: GraphRef, parent?: Scope) => {
    const scope: Scope = {
      graph,
      parent,
      inits: new Map(graph.initializers.map((t) => [t.name, t])),
      inputs: new Set(graph.inputs),
    };
    scopes.set(graph, scope);
    for (const n of graph.nodes)
      for (const a of n.attrs) for (const g of a.graphs) visit(g.graph, scope);
  };
  visit(main);
  return scopes;
}

/** Finds the nodes that read a constant 2-D fp32 weight in a way the rewrite can take over. */
function candidates(main: GraphRef, scopes: Map<GraphRef, Scope>, skipped: string[]): Candidate[] {
  const producers = new Map<string, NodeRef>();
  for (const g of allGraphs(main))
    for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);
  const out: Candidate[] = [];
  for (const [graph, scope] of scopes)
    for (const node of graph.nodes) {
      if (node.domain === 'com.microsoft' && node.opType === 'FusedMatMul') {
        // textgen's fused graphs read the tied head as FusedMatMul(x, embedding, transB): [N, K].
        const w = resolve(scope, node.inputs[1]);
        const plain =
          attr(node, 'transB').i === 1 &&
          (attr(node, 'transA').i ?? 0) === 0 &&
          (attr(node, 'transBatchA').i ?? 0) === 0 &&
          (attr(node, 'transBatchB').i ?? 0) === 0 &&
          (attr(node, 'alpha').f ?? 1) === 1;
        if (isWeight(w) && plain)
          out.push({ node, scope, kind: 'matmul', input: node.inputs[0], weight: w, layout: 'NK' });
        continue;
      }
      if (node.domain !== '') continue;
      if (node.opType === 'MatMul') {
        const direct = resolve(scope, node.inputs[1]);
        if (isWeight(direct)) {
          out.push({
            node,
            scope,
            kind: 'matmul',
            input: node.inputs[0],
            weight: direct,
            layout: 'KN',
          });
          continue;
        }
        const t = producers.get(node.inputs[1]);
        const perm = t && attr(t, 'perm').ints;
        if (t?.opType === 'Transpose' && (!perm || (perm[0] === 1 && perm[1] === 0))) {
          const source = resolve(scopes.get(graphOf(main, t))!, t.inputs[0]);
          if (isWeight(source))
            out.push({
              node,
              scope,
              kind: 'matmul',
              input: node.inputs[0],
              weight: source,
              layout: 'NK',
              transpose: t,
            });
        }
      } else if (node.opType === 'Gemm') {
        const w = resolve(scope, node.inputs[1]);
        if (!isWeight(w)) continue;
        const layout = attr(node, 'transB').i === 1 ? 'NK' : 'KN';
        const n = layout === 'NK' ? w.tensor.dims[0] : w.tensor.dims[1];
        const plain =
          (attr(node, 'transA').i ?? 0) === 0 &&
          (attr(node, 'alpha').f ?? 1) === 1 &&
          (attr(node, 'beta').f ?? 1) === 1;
        const c = node.inputs[2] ? resolve(scope, node.inputs[2]) : undefined;
        const biasOk =
          !node.inputs[2] ||
          (c?.tensor.dataType === OnnxType.float &&
            c.tensor.dims.length === 1 &&
            c.tensor.dims[0] === n);
        if (!plain || !biasOk) {
          skipped.push(`${w.tensor.name}: Gemm with transA, alpha, beta or a non-vector bias`);
          continue;
        }
        out.push({
          node,
          scope,
          kind: 'matmul',
          input: node.inputs[0],
          weight: w,
          layout,
          bias: node.inputs[2] || undefined,
        });
      } else if (node.opType === 'Gather' && (attr(node, 'axis').i ?? 0) === 0) {
        const w = resolve(scope, node.inputs[0]);
        if (isWeight(w))
          out.push({ node, scope, kind: 'gather', input: node.inputs[1], weight: w, layout: 'NK' });
      }
    }
  return out;
}

function graphOf(main: GraphRef, node: NodeRef): GraphRef {
  return allGraphs(main).find((g) => g.nodes.includes(node))!;
}

/** Every name used in the model. */
function allNames(main: GraphRef): Set<string> {
  const names = new Set<string>();
  for (const g of allGraphs(main)) {
    for (const t of g.initializers) names.add(t.name);
    for (const n of [...g.inputs, ...g.outputs]) names.add(n);
    for (const node of g.nodes) for (const o of [...node.outputs, node.name]) names.add(o);
  }
  return names;
}

/** A name not used yet in the model (recorded as used). */
export function freshName(names: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
  names.add(name);
  return name;
}

/** Plans the rewrite of the model whose main graph is `main`. */
export function planRewrite(main: GraphRef, options: QuantOptions): Plan {
  const skipped: string[] = [];
  const scopes = scopesOf(main);
  const found = candidates(main, scopes, skipped);
  const names = allNames(main);
  const plans = new Map<TensorRef, Partial<Record<'KN' | 'NK', WeightPlan>>>();
  const byTensor = new Map<TensorRef, Candidate[]>();
  for (const c of found)
    byTensor.set(c.weight.tensor, [...(byTensor.get(c.weight.tensor) ?? []), c]);
  const rewrites = new Map<NodeRef, Rewrite>();
  const headOf = (t: TensorRef, cs: Candidate[]) => {
    const tied = cs.some((c) => c.kind === 'gather') && cs.some((c) => c.kind === 'matmul');
    const vocab = options.vocabSize;
    return (
      tied ||
      cs.some((c) => {
        const n = c.layout === 'NK' ? t.dims[0] : t.dims[1];
        return (
          (vocab !== undefined && n === vocab) ||
          c.node.outputs.some((o) => /logits/i.test(o) && c.scope.graph.outputs.includes(o))
        );
      })
    );
  };
  for (const [tensor, cs] of byTensor) {
    const head = headOf(tensor, cs);
    const alsoMatMul = cs.some((c) => c.kind === 'matmul');
    const layouts: Partial<Record<'KN' | 'NK', WeightPlan>> = {};
    plans.set(tensor, layouts);
    for (const c of cs) {
      const mode = head ? options.head : options.dtype;
      const [n, k] = c.layout === 'NK' ? tensor.dims : [tensor.dims[1], tensor.dims[0]];
      if (mode === 'fp32') continue;
      // Per-channel int8 for the int8 dtype, and for the 8-bit head of q4 (as fast at one token as
      // 8-bit blocks, about three times faster over a prompt, and smaller). The q8 dtype keeps its
      // head in MatMulNBits blocks: activations rounded per block of K rather than per tensor give
      // the closest agreement with fp32, which is what q8 is chosen for.
      const int8 = mode === 'int8' || (head && mode === 'q8' && options.dtype !== 'q8');
      if (c.kind === 'gather') {
        // The token embedding: tied to the head, or vocab-sized rows looked up by token ids (a rope
        // table can have as many rows as the vocabulary, but is read by position).
        const tokens = options.vocabSize === n && !/position/i.test(c.input);
        if (!alsoMatMul && !tokens) continue;
        if (!int8 && k % options.blockSize !== 0) {
          skipped.push(`${tensor.name}: embedding width ${k} is not a multiple of the block size`);
          continue;
        }
      }
      const plan = (layouts[c.layout] ??= {
        tensor,
        owner: c.weight.owner,
        n,
        k,
        layout: c.layout,
        head,
      });
      if (int8)
        plan.int8 ??= {
          data: freshName(names, `${tensor.name}_int8`),
          scales: freshName(names, `${tensor.name}_int8_scale`),
        };
      else {
        const bits = mode === 'q4' ? 4 : 8;
        if (plan.nbits && plan.nbits.bits !== bits) continue;
        plan.nbits ??= {
          bits,
          data: freshName(names, `${tensor.name}_q${bits}`),
          scales: freshName(names, `${tensor.name}_q${bits}_scales`),
        };
      }
      rewrites.set(
        c.node,
        c.kind === 'gather'
          ? { kind: 'gather', ids: c.input, weight: plan }
          : { kind: int8 ? 'int8' : 'nbits', x: c.input, weight: plan, bias: c.bias },
      );
    }
  }
  const removedNodes = foldedTransposes(main, found, rewrites);
  return {
    weights: [...plans.values()].flatMap((l) => Object.values(l)),
    rewrites,
    removedNodes,
    removedTensors: unusedTensors(main, scopes, rewrites, removedNodes, byTensor),
    skipped,
    names,
  };
}

/** Transposes whose every consumer was replaced (their output is not a graph output). */
function foldedTransposes(
  main: GraphRef,
  found: Candidate[],
  rewrites: Map<NodeRef, Rewrite>,
): Set<NodeRef> {
  const removed = new Set<NodeRef>();
  const transposes = new Set(found.map((c) => c.transpose).filter((t): t is NodeRef => Boolean(t)));
  const graphs = allGraphs(main);
  for (const t of transposes) {
    const out = t.outputs[0];
    const used = graphs.some(
      (g) =>
        g.outputs.includes(out) || g.nodes.some((n) => !rewrites.has(n) && n.inputs.includes(out)),
    );
    if (!used) removed.add(t);
  }
  return removed;
}

/** Source weights no remaining node (or graph output) reads. */
function unusedTensors(
  main: GraphRef,
  scopes: Map<GraphRef, Scope>,
  rewrites: Map<NodeRef, Rewrite>,
  removedNodes: Set<NodeRef>,
  byTensor: Map<TensorRef, Candidate[]>,
): Set<TensorRef> {
  const stillRead = new Set<TensorRef>();
  for (const [graph, scope] of scopes) {
    for (const node of graph.nodes) {
      if (removedNodes.has(node)) continue;
      const r = rewrites.get(node);
      node.inputs.forEach((name, i) => {
        // A replaced node still reads its activation (and a Gemm bias); never its weight.
        if (
          r &&
          !(r.kind !== 'gather' && (i === 0 || i === 2)) &&
          !(r.kind === 'gather' && i === 1)
        )
          return;
        const t = resolve(scope, name);
        if (t) stillRead.add(t.tensor);
      });
      // Subgraphs read outer names implicitly: their nodes are visited with their own scope.
    }
    for (const o of graph.outputs) {
      const t = resolve(scope, o);
      if (t) stillRead.add(t.tensor);
    }
  }
  return new Set([...byTensor.keys()].filter((t) => !stillRead.has(t)));
}
