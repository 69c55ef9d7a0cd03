// The independent reference for the decoding-strategy tests: raw next-token logits of stories260K
// straight from onnxruntime-node (one full forward of the whole sequence, empty KV cache, no textgen
// code involved), and the Hugging Face definitions of the sampling filters written out plainly in
// float64 over those logits.
import { resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { sharedModel } from '../../shared-fixtures.js';

export { repoRoot } from '../../shared-fixtures.js';
export const storiesDir = sharedModel('stories260K-onnx');

/** A story ending that stories260K finishes with EOS a few tokens in (its own greedy text, cut). */
export const ENDING =
  'They were best friends forever. One day, they saw a big box with a big box. The box was very small and shiny. It was a big, red box. ' +
  'The box was very happy.\n"Wow, that\'s a big box!" said the boy. "It\'s a small box."\n"Yes, I can help you," said the boy. "I will help you."\n' +
  'They played with the box and had fun. They had a fun day.\nThey played together and had fun.';

/** Raw logits of a causal LM with an optimum-layout KV cache, read without textgen. */
export class LogitsOracle {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** Opens stories260K's model.onnx on one thread. */
  static async open(dir = storiesDir): Promise<LogitsOracle> {
    return new LogitsOracle(
      await ort.InferenceSession.create(resolve(dir, 'onnx', 'model.onnx'), {
        intraOpNumThreads: 1,
      }),
    );
  }

  /** The logits that predict the token after `ids` (a float32 copy, length vocab). */
  async next(ids: number[]): Promise<Float32Array> {
    const n = ids.length;
    const int64 = (values: number[]) =>
      new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, n]);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(ids),
      attention_mask: int64(ids.map(() => 1)),
      position_ids: int64(ids.map((_, i) => i)),
    };
    for (const meta of this.session.inputMetadata) {
      if (!meta.name.startsWith('past_key_values.') || !meta.isTensor) continue;
      // [batch, kv heads, past length, head dim]: an empty past.
      const [, heads, , dim] = meta.shape as [unknown, number, unknown, number];
      feeds[meta.name] = new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, dim]);
    }
    const logits = (await this.session.run(feeds, ['logits'])).logits;
    const vocab = logits.dims[2];
    return Float32Array.from((logits.data as Float32Array).subarray((n - 1) * vocab, n * vocab));
  }

  /** Logits before each generated token: entry t predicts generated[t] from prompt + generated[0..t). */
  async teacherForced(prompt: number[], generated: number[]): Promise<Float32Array[]> {
    const rows: Float32Array[] = [];
    for (let t = 0; t < generated.length; t++)
      rows.push(await this.next([...prompt, ...generated.slice(0, t)]));
    return rows;
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/** log_softmax in float64. */
export function logSoftmax(row: ArrayLike<number>): number[] {
  const values = Array.from(row);
  const max = Math.max(...values);
  const lse = max + Math.log(values.reduce((a, x) => a + Math.exp(x - max), 0));
  return values.map((x) => x - lse);
}

/** Probabilities in float64. */
export function probabilities(row: ArrayLike<number>): number[] {
  return logSoftmax(row).map(Math.exp);
}

/** Token ids by descending logit, ties by id. */
function byLogitDesc(row: ArrayLike<number>): number[] {
  return Array.from(row, (_, i) => i).sort((a, b) => row[b] - row[a] || a - b);
}

/** Top-k: every token whose logit is >= the k-th largest. */
export function topKSet(row: ArrayLike<number>, k: number): Set<number> {
  const kth = row[byLogitDesc(row)[k - 1]];
  return new Set(Array.from(row, (_, i) => i).filter((i) => row[i] >= kth));
}

/** Top-p as TopPLogitsWarper: sort ascending, cumulate, drop tokens whose cumulative mass <= 1 − p. */
export function topPSet(row: ArrayLike<number>, p: number): Set<number> {
  const probs = probabilities(row);
  const ascending = byLogitDesc(row).reverse();
  const kept = new Set<number>();
  let cumulative = 0;
  ascending.forEach((id, rank) => {
    cumulative += probs[id];
    if (cumulative > 1 - p || rank === ascending.length - 1) kept.add(id);
  });
  return kept;
}

/** Min-p: tokens with probability >= minP × the top probability. */
export function minPSet(row: ArrayLike<number>, minP: number): Set<number> {
  const probs = probabilities(row);
  const top = Math.max(...probs);
  return new Set(probs.flatMap((q, i) => (q >= minP * top ? [i] : [])));
}

/** Index of the largest logit (lowest id on ties). */
export function argmax(row: ArrayLike<number>): number {
  return byLogitDesc(row)[0];
}
