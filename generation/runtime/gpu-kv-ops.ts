/**
 * Row and length surgery on GPU-resident tensors. onnxruntime-node cannot read a `gpu-buffer` tensor
 * back (its download is not implemented in Node) nor write one, so a KV cache kept on the GPU is
 * reordered (beam search), expanded (num_return_sequences) and rewound (chat reuse) by running a tiny
 * ONNX graph on the same WebGPU device: y = Slice(Gather(x, rows, batch axis), 0..length, seq axis),
 * with y left on the GPU. Nothing crosses the bus but the row list and the length.
 */
import { GraphBuilder, type ElemType } from '../onnx-writer/graph.js';
import { tensor, type Session, type Tensor } from './ort.js';

/** Opens an in-memory ONNX model on the WebGPU device with output `y` kept on the GPU. */
export type GpuHelperOpener = (model: Uint8Array) => Promise<Session>;

/** The graph for one element type and rank; the batch axis is `lead`, the sequence axis lead + 2. */
export function gatherSliceModel(
  type: 'float32' | 'float16',
  rank: number,
  lead: number,
): Uint8Array {
  const g = new GraphBuilder('textgen_kv_gather_slice');
  const dims = Array.from({ length: rank }, (_, i) => `d${i}`);
  const x = g.input({ name: 'x', type: type as ElemType, shape: dims });
  const rows = g.input({ name: 'rows', type: 'int64', shape: ['n'] });
  const length = g.input({ name: 'length', type: 'int64', shape: [1] });
  const gathered = g.op('Gather', [x, rows], { axis: lead });
  const sliced = g.op('Slice', [gathered, g.ints([0]), length, g.ints([lead + 2])]);
  g.output({ name: 'y', type: type as ElemType, shape: dims.map((d, i) => `${d}_y${i}`) }, sliced);
  const parts = g.model(13, 'textgen gpu-kv-ops').parts;
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/** The helper sessions of one device, opened on first use per element type and rank. */
export class GpuKvOps {
  private readonly sessions = new Map<string, Promise<Session>>();

  constructor(private readonly open: GpuHelperOpener) {}

  /**
   * A new GPU tensor holding rows `rows` of `x` (new row i = old row rows[i]) cut to the first
   * `length` positions. The caller still owns `x`.
   */
  async gatherSlice(
    x: Tensor,
    lead: number,
    rows: readonly number[],
    length: number,
  ): Promise<Tensor> {
    const type = x.type as 'float32' | 'float16';
    const key = `${type}:${x.dims.length}:${lead}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = this.open(gatherSliceModel(type, x.dims.length, lead));
      this.sessions.set(key, session);
    }
    const out = await (
      await session
    ).run({
      x,
      rows: tensor(
        'int64',
        BigInt64Array.from(rows, (r) => BigInt(r)),
        [rows.length],
      ),
      length: tensor('int64', BigInt64Array.of(BigInt(length)), [1]),
    });
    return out.y;
  }

  /** Closes the helper sessions. */
  async release(): Promise<void> {
    const open = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of open) await (await s).release();
  }
}
