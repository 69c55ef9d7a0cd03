// An independent greedy decoder for oracle tests: onnxruntime-node directly, no textgen code on the
// model side. Every step feeds the whole sequence with empty past tensors (no KV cache) and takes the
// argmax of the last position, so a cached, batched or packaged textgen run can be checked against it.
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { halfToFloat } from '../common/float16.js';

function intTensor(type: string, values: number[]): ort.Tensor {
  const dims = [1, values.length];
  return type === 'int32'
    ? new ort.Tensor('int32', Int32Array.from(values), dims)
    : new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
}

/**
 * Greedy decoding without a KV cache: every step feeds the whole sequence with empty past tensors
 * and takes the argmax of the last position's logits.
 */
export async function uncachedGreedy(
  path: string,
  prompt: number[],
  steps: number,
  eos: number[],
): Promise<number[]> {
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const ids = prompt.slice();
    const generated: number[] = [];
    while (generated.length < steps) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const meta of session.inputMetadata) {
        if (!meta.isTensor) continue;
        const { name, type, shape } = meta;
        if (/input_ids/.test(name)) feeds[name] = intTensor(type, ids);
        else if (/attention_mask/.test(name))
          feeds[name] = intTensor(
            type,
            ids.map(() => 1),
          );
        else if (/position_ids/.test(name))
          feeds[name] = intTensor(
            type,
            ids.map((_, i) => i),
          );
        else if (/^past/.test(name)) {
          const dims = shape.map((d) => (typeof d === 'number' ? d : /batch/.test(d) ? 1 : 0));
          feeds[name] = new ort.Tensor(
            type as 'float32',
            type === 'float16' ? new Uint16Array(0) : new Float32Array(0),
            dims,
          );
        } else assert.fail(`unexpected input ${name}`);
      }
      const { logits } = await session.run(feeds, ['logits']);
      const vocab = logits.dims[2];
      const offset = (ids.length - 1) * vocab;
      const row =
        logits.type === 'float16'
          ? halfToFloat(logits.data as Uint16Array, new Float32Array(vocab), offset, vocab)
          : (logits.data as Float32Array).subarray(offset, offset + vocab);
      let best = 0;
      for (let v = 1; v < vocab; v++) if (row[v] > row[best]) best = v;
      generated.push(best);
      ids.push(best);
      if (eos.includes(best)) break;
    }
    return generated;
  } finally {
    await session.release();
  }
}
