/**
 * Checkpoint tensors ↔ the emitters' canonical weight names. The emitters ask for Llama names
 * (`model.layers.N.self_attn.q_proj.weight` as [in, out]) for every Llama-family model and GPT-2 names
 * for GPT-2; this module finds each in the checkpoint (with or without the `model.` / `transformer.`
 * prefix), transposes torch Linear weights ([out, in]), splits Phi-3's fused `qkv_proj` and
 * `gate_up_proj`, and trims GPT-2's position table to the converted context. Before anything is
 * written, {@link checkTensors} verifies every tensor the conversion will read (present, shape,
 * dtype) and that the checkpoint holds nothing the config does not explain.
 */
import { ModelError } from '../errors.js';
import { transpose } from '../onnx-writer/block-quant.js';
import type { WeightSource } from '../onnx-writer/decoder-common.js';
import type { Gpt2Shape, LlamaShape } from '../onnx-writer/llama-gpt2.js';
import type { Checkpoint } from './checkpoint.js';
import type { ModelPlan } from './config-spec.js';
import { FLOAT_DTYPES, unsupportedDtype } from './safetensors.js';

/** How the conversion reads one checkpoint. */
export interface TensorMap {
  /** Every checkpoint tensor the conversion reads, with the shape it must have. */
  expected: Map<string, number[]>;
  /** Checkpoint tensors that are known to be unused (buffers, a tied head's copy). */
  ignored: (name: string) => boolean;
  /** The emitters' weights, read from the checkpoint on demand. */
  source: WeightSource;
}

const BUFFERS = /(^|\.)rotary_emb\.inv_freq$|(^|\.)attn\.(masked_)?bias$/;

/** Rows [from, from + count) of a row-major [rows, cols] matrix, as [in, out] = transposed. */
function rowsAsInOut(m: Float32Array, cols: number, from: number, count: number): Float32Array {
  return transpose(m.subarray(from * cols, (from + count) * cols), count, cols);
}

function llamaMap(s: LlamaShape, ckpt: Checkpoint, fused: boolean): TensorMap {
  const prefix = ckpt.entry('model.embed_tokens.weight') ? 'model.' : '';
  const expected = new Map<string, number[]>();
  const want = (name: string, shape: number[]) => expected.set(prefix + name, shape);
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  want('embed_tokens.weight', [s.vocab, s.hidden]);
  for (let l = 0; l < s.layers; l++) {
    const p = `layers.${l}.`;
    want(`${p}input_layernorm.weight`, [s.hidden]);
    want(`${p}post_attention_layernorm.weight`, [s.hidden]);
    if (fused) want(`${p}self_attn.qkv_proj.weight`, [q + 2 * kv, s.hidden]);
    for (const [name, out] of fused
      ? []
      : ([
          ['q', q],
          ['k', kv],
          ['v', kv],
        ] as const)) {
      want(`${p}self_attn.${name}_proj.weight`, [out, s.hidden]);
      if (s.qkvBias) want(`${p}self_attn.${name}_proj.bias`, [out]);
    }
    want(`${p}self_attn.o_proj.weight`, [s.hidden, q]);
    if (s.oBias) want(`${p}self_attn.o_proj.bias`, [s.hidden]);
    if (s.qkNorm) for (const n of ['q', 'k']) want(`${p}self_attn.${n}_norm.weight`, [s.headDim]);
    if (fused) want(`${p}mlp.gate_up_proj.weight`, [2 * s.intermediate, s.hidden]);
    for (const [name, shape] of [
      ...(fused
        ? []
        : ([
            ['gate', [s.intermediate, s.hidden]],
            ['up', [s.intermediate, s.hidden]],
          ] as const)),
      ['down', [s.hidden, s.intermediate]],
    ] as const) {
      want(`${p}mlp.${name}_proj.weight`, [...shape]);
      if (s.mlpBias) want(`${p}mlp.${name}_proj.bias`, [shape[0]]);
    }
  }
  want('norm.weight', [s.hidden]);
  if (!s.tieEmbeddings) expected.set('lm_head.weight', [s.vocab, s.hidden]);
  // Phi-3's fused tensors serve two or three canonical weights each: keep the last one read.
  let last: { name: string; data: Float32Array } | undefined;
  const fusedRead = (name: string) => {
    if (last?.name !== name) last = { name, data: ckpt.read(name) };
    return last.data;
  };
  const source: WeightSource = (name, dims) => {
    if (name === 'lm_head.weight') return transpose(ckpt.read(name), s.vocab, s.hidden);
    const local = prefix + name.replace(/^model\./, '');
    const m = /^(.*\.)(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj\.weight$/.exec(local);
    if (!m) return ckpt.read(local);
    const [, layer, block, which] = m;
    if (fused && 'qkv'.includes(which) && which.length === 1) {
      const from = which === 'q' ? 0 : which === 'k' ? q : q + kv;
      return rowsAsInOut(fusedRead(`${layer}self_attn.qkv_proj.weight`), s.hidden, from, dims[1]);
    }
    if (fused && (which === 'gate' || which === 'up')) {
      const from = which === 'gate' ? 0 : s.intermediate;
      return rowsAsInOut(fusedRead(`${layer}mlp.gate_up_proj.weight`), s.hidden, from, dims[1]);
    }
    return transpose(ckpt.read(`${layer}${block}.${which}_proj.weight`), dims[1], dims[0]);
  };
  return {
    expected,
    ignored: (n) => BUFFERS.test(n) || (s.tieEmbeddings && n === 'lm_head.weight'),
    source,
  };
}

function gpt2Map(s: Gpt2Shape, ckpt: Checkpoint): TensorMap {
  const prefix = ckpt.entry('transformer.wte.weight') ? 'transformer.' : '';
  const expected = new Map<string, number[]>();
  const want = (name: string, shape: number[]) => expected.set(prefix + name, shape);
  const h = s.hidden;
  want('wte.weight', [s.vocab, h]);
  // The position table may be longer than the converted context; its first rows are used.
  const wpeRows = ckpt.entry(`${prefix}wpe.weight`)?.shape[0] ?? s.maxPositions;
  want('wpe.weight', [Math.max(wpeRows, s.maxPositions), h]);
  for (let l = 0; l < s.layers; l++) {
    const p = `h.${l}.`;
    for (const ln of ['ln_1', 'ln_2']) {
      want(`${p}${ln}.weight`, [h]);
      want(`${p}${ln}.bias`, [h]);
    }
    const conv = (name: string, inDim: number, outDim: number) => {
      want(`${p}${name}.weight`, [inDim, outDim]);
      want(`${p}${name}.bias`, [outDim]);
    };
    conv('attn.c_attn', h, 3 * h);
    conv('attn.c_proj', h, h);
    conv('mlp.c_fc', h, s.inner);
    conv('mlp.c_proj', s.inner, h);
  }
  want('ln_f.weight', [h]);
  want('ln_f.bias', [h]);
  const source: WeightSource = (name) => {
    const local = prefix + name.replace(/^transformer\./, '');
    const data = ckpt.read(local);
    return local === `${prefix}wpe.weight` ? data.slice(0, s.maxPositions * h) : data;
  };
  return { expected, ignored: (n) => BUFFERS.test(n) || n === 'lm_head.weight', source };
}

/** The tensor map of a plan over an opened checkpoint. */
export function tensorMap(plan: ModelPlan, ckpt: Checkpoint): TensorMap {
  return plan.spec.arch === 'gpt2'
    ? gpt2Map(plan.spec, ckpt)
    : llamaMap(plan.spec, ckpt, plan.family === 'phi3');
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Checks, before anything is written, that every tensor the conversion reads exists with the shape
 * the config implies and a float dtype, and that no tensor is left unexplained (a config that does
 * not describe its weights would otherwise convert into a wrong model silently).
 */
export function checkTensors(map: TensorMap, ckpt: Checkpoint): void {
  for (const [name, shape] of map.expected) {
    const entry = ckpt.entry(name);
    if (!entry)
      throw new ModelError(
        `The checkpoint has no tensor ${name}, which its config.json implies.`,
        'The weights do not match config.json (another architecture, or an incomplete download).',
      );
    if (!same(entry.shape, shape))
      throw new ModelError(
        `Tensor ${name} is [${entry.shape.join(', ')}] but config.json implies [${shape.join(', ')}].`,
        'The weights do not match config.json.',
      );
    if (!(FLOAT_DTYPES as readonly string[]).includes(entry.dtype))
      throw unsupportedDtype(ckpt.fileOf(name)!, entry);
  }
  const extra = ckpt.names().filter((n) => !map.expected.has(n) && !map.ignored(n));
  if (extra.length)
    throw new ModelError(
      `The checkpoint has ${extra.length} tensor(s) its config.json does not explain: ${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ', …' : ''}.`,
      'textgen convert refuses rather than drop weights; check model_type and the config fields.',
    );
}
