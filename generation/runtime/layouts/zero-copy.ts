/**
 * textgen's fused graphs (onnx-writer/fused-decoder.ts): the cache stays in JS memory and is fed
 * whole ([batch, kvHeads, capacity, headDim] per layer, read in place by the graph); each run fetches
 * only the kept logits and the new positions' K/V, which are written into the cache here. The
 * attention mask carries one bit per fed slot (0 past the cached length and for padding) and then
 * the new tokens' bits. A step's cost no longer includes copying the cache in or out.
 */
import { tensor, type Session, type Tensor } from '../ort.js';
import type { SessionIo } from '../io-names.js';
import type { DecoderInputs } from './plain-inputs.js';
import type { CacheLayout, LayoutCache, StepInput } from './types.js';
import { ZeroCopyCache, type ZeroCopyShape } from './zero-copy-cache.js';

/** The names a fused graph's cache I/O has (kept in step with onnx-writer/fused-decoder.ts). */
export const ZERO_COPY_NAMES = {
  cacheKey: (layer: number) => `cache.${layer}.key`,
  cacheValue: (layer: number) => `cache.${layer}.value`,
  newKv: 'cache_new',
};

/** The cache shape of a session with the fused graph's I/O, or undefined when it has another. */
export function zeroCopyShape(io: SessionIo): ZeroCopyShape | undefined {
  let layers = 0;
  while (io.inputs.has(ZERO_COPY_NAMES.cacheKey(layers))) layers++;
  if (layers === 0 || !io.outputs.has(ZERO_COPY_NAMES.newKv)) return undefined;
  for (let l = 0; l < layers; l++)
    if (!io.inputs.has(ZERO_COPY_NAMES.cacheValue(l))) return undefined;
  const shape = io.inputs.get(ZERO_COPY_NAMES.cacheKey(0))!.shape;
  const [kvHeads, headDim] = [shape[1], shape[3]];
  if (typeof kvHeads !== 'number' || typeof headDim !== 'number') return undefined;
  if (io.inputs.get(ZERO_COPY_NAMES.cacheKey(0))!.type !== 'float32') return undefined;
  return { layers, kvHeads, headDim };
}

/** Zero-copy caches for the fused graphs. */
export class ZeroCopyLayout implements CacheLayout {
  readonly kind = 'zero-copy' as const;
  readonly cached = true;
  private readonly fetchNames: string[];
  private readonly logitsOnly: string[];
  /** The last cache feeds made, reused while the cache's buffers and fed length stay the same. */
  private feedMemo?: { keys: Float32Array[]; fed: number; feeds: Record<string, Tensor> };

  constructor(
    private readonly session: Session,
    private readonly inputs: DecoderInputs,
    readonly shape: ZeroCopyShape,
  ) {
    const logits = inputs.names.logits;
    this.logitsOnly = [logits];
    this.fetchNames = [logits, ZERO_COPY_NAMES.newKv];
  }

  newCache(batch: number, maxLength: number): ZeroCopyCache {
    return new ZeroCopyCache(this.shape, batch, maxLength);
  }

  async run(layoutCache: LayoutCache | undefined, input: StepInput): Promise<Tensor> {
    const cache = layoutCache as ZeroCopyCache;
    const added = input.tokens[0].length;
    if (input.updateCache) cache.reserve(cache.length + added);
    // An empty cache is fed as zero slots, so a prefill attends over the prompt only.
    const fed = cache.length === 0 ? 0 : cache.capacity;
    const mask = this.mask(input.masks, cache.length, fed, added);
    const feeds = this.inputs.build(input.tokens, input.positions, mask, input.keep, true);
    Object.assign(feeds, this.cacheFeeds(cache, fed));
    const out = await this.session.run(
      feeds,
      input.updateCache ? this.fetchNames : this.logitsOnly,
    );
    if (input.updateCache) {
      cache.write(out[ZERO_COPY_NAMES.newKv].data as Float32Array, added);
      cache.advance(added);
    }
    return out[this.inputs.names.logits];
  }

  /** Tensors over the cache's buffers, [batch, kvHeads, fed, headDim] per layer (no copy). */
  private cacheFeeds(cache: ZeroCopyCache, fed: number): Record<string, Tensor> {
    const memo = this.feedMemo;
    if (memo && memo.keys === cache.keys && memo.fed === fed) return memo.feeds;
    const { kvHeads, headDim } = this.shape;
    const dims = [cache.batch, kvHeads, fed, headDim];
    const size = cache.batch * kvHeads * fed * headDim;
    const feeds: Record<string, Tensor> = {};
    for (let l = 0; l < this.shape.layers; l++) {
      feeds[ZERO_COPY_NAMES.cacheKey(l)] = tensor('float32', cache.keys[l].subarray(0, size), dims);
      feeds[ZERO_COPY_NAMES.cacheValue(l)] = tensor(
        'float32',
        cache.values[l].subarray(0, size),
        dims,
      );
    }
    this.feedMemo = { keys: cache.keys, fed, feeds };
    return feeds;
  }

  /** [batch, fed + added] int64: the cached positions' bits, zeros for unused slots, the new bits. */
  private mask(masks: number[][], cached: number, fed: number, added: number): Tensor {
    const width = fed + added;
    const data = new BigInt64Array(masks.length * width);
    const one = BigInt(1);
    masks.forEach((row, r) => {
      const base = r * width;
      for (let t = 0; t < cached; t++) if (row[t]) data[base + t] = one;
      for (let i = 0; i < added; i++) if (row[cached + i]) data[base + fed + i] = one;
    });
    return tensor('int64', data, [masks.length, width]);
  }
}
