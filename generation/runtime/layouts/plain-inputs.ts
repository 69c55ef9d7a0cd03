/**
 * The plain inputs of a causal LM run, typed as the session declares them: input_ids, attention_mask,
 * position_ids (int64 or int32), num_logits_to_keep (scalar or one-element vector) and
 * use_cache_branch (merged decoders).
 */
import { tensor, type Tensor } from '../ort.js';
import type { SessionIo } from '../io-names.js';
import type { DecoderNames, MaskFeed, PlainInputs } from './types.js';

const ONE = BigInt(1);
const ZERO = BigInt(0);

/**
 * An int64 or int32 tensor from plain numbers, flat or one array per row (rows are copied straight in:
 * Array.prototype.flat costs more than the rest of a tiny model's decode step).
 */
export function intTensor(type: string, values: number[] | number[][], dims: number[]): Tensor {
  const rows = (Array.isArray(values[0]) ? values : [values]) as number[][];
  const n = dims.reduce((a, b) => a * b, 1);
  let at = 0;
  if (type === 'int32') {
    const data = new Int32Array(n);
    for (const row of rows) {
      data.set(row, at);
      at += row.length;
    }
    return tensor('int32', data, dims);
  }
  const data = new BigInt64Array(n);
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      data[at++] = v === 1 ? ONE : v === 0 ? ZERO : BigInt(v);
    }
  }
  return tensor('int64', data, dims);
}

/** Builds a session's plain inputs. */
export class DecoderInputs implements PlainInputs {
  private keepOne?: Tensor;
  private readonly branchTensors = new Map<boolean, Tensor>();

  constructor(
    private readonly io: SessionIo,
    readonly names: DecoderNames,
  ) {}

  /** The declared element type of an input. */
  typeOf(name: string): string {
    return this.io.inputs.get(name)!.type;
  }

  build(
    ids: number[][],
    positions: number[][],
    mask: MaskFeed,
    keep: number,
    cacheFilled: boolean,
  ): Record<string, Tensor> {
    const { names } = this;
    const batch = ids.length;
    const seq = ids[0].length;
    const feeds: Record<string, Tensor> = {
      [names.ids]: intTensor(this.typeOf(names.ids), ids, [batch, seq]),
    };
    if (names.mask)
      feeds[names.mask] = Array.isArray(mask)
        ? intTensor(this.typeOf(names.mask), mask, [batch, mask[0].length])
        : mask;
    if (names.positions)
      feeds[names.positions] = intTensor(this.typeOf(names.positions), positions, [batch, seq]);
    if (names.keep) feeds[names.keep] = this.keepTensor(keep);
    if (names.branch) {
      let branch = this.branchTensors.get(cacheFilled);
      if (!branch) {
        branch = tensor('bool', Uint8Array.of(cacheFilled ? 1 : 0), [1]);
        this.branchTensors.set(cacheFilled, branch);
      }
      feeds[names.branch] = branch;
    }
    return feeds;
  }

  /** `num_logits_to_keep` as the export declares it: a scalar in most, a one-element vector in some. */
  private keepTensor(keep: number): Tensor {
    // Decode steps always keep 1: that tensor is made once and fed every step.
    if (keep === 1 && this.keepOne) return this.keepOne;
    const info = this.io.inputs.get(this.names.keep!)!;
    const dims = info.shape.length ? [1] : [];
    const made =
      info.type === 'int32'
        ? tensor('int32', Int32Array.of(keep), dims)
        : tensor('int64', BigInt64Array.of(BigInt(keep)), dims);
    if (keep === 1) this.keepOne = made;
    return made;
  }
}
