/**
 * The optimum / transformers.js layout: `past_key_values.N.key/value` in, `present.N.key/value` out,
 * each present the past plus the new positions. The cache ({@link KvCache}) hands ORT preallocated
 * present buffers and swaps them in as the next past; the binding still copies every fetched present
 * out, so a step costs time proportional to the cache (these graphs leave no way around that). Also
 * serves merged decoders (use_cache_branch) and the older decoder + decoder_with_past pair (the first
 * session runs while the cache is empty). On WebGPU the presents stay on the device
 * ({@link GpuKvCache}) and are fed back as they are; recorded reorders and rewinds are applied before
 * the next run.
 */
import { GpuKvCache, type KvStore } from '../gpu-kv-cache.js';
import type { GpuKvOps } from '../gpu-kv-ops.js';
import { KvCache, type KvEntrySpec } from '../kv-cache.js';
import type { Session, Tensor } from '../ort.js';
import type { DecoderInputs } from './plain-inputs.js';
import type { CacheLayout, LayoutCache, StepInput } from './types.js';

/** The first capacity of a cache (it doubles as it fills, up to the context). */
const INITIAL_CAPACITY = 256;

/** Growing optimum caches. */
export class GrowingLayout implements CacheLayout {
  readonly kind: 'growing' | 'packed' = 'growing';
  readonly cached = true;

  constructor(
    protected readonly main: Session,
    protected readonly inputs: DecoderInputs,
    readonly specs: KvEntrySpec[],
    /** Runs steps whose cache is empty (decoder_model.onnx of a split pair). */
    protected readonly first?: Session,
    /** Keeps the cache on the WebGPU device the sessions run on. */
    private readonly gpu?: GpuKvOps,
  ) {}

  /** Whether the cache stays on a GPU (it cannot then be spliced row by row from JavaScript). */
  get onGpu(): boolean {
    return this.gpu !== undefined;
  }

  newCache(batch: number, maxLength: number): KvStore & LayoutCache {
    if (this.gpu) return new GpuKvCache(this.specs, batch, this.gpu);
    return new KvCache(this.specs, batch, Math.min(INITIAL_CAPACITY, maxLength), maxLength);
  }

  async run(layoutCache: LayoutCache | undefined, input: StepInput): Promise<Tensor> {
    const cache = layoutCache as KvStore & LayoutCache;
    await cache.settle?.();
    const empty = cache.length === 0;
    const feeds = this.inputs.build(input.tokens, input.positions, input.masks, input.keep, !empty);
    const logits = this.inputs.names.logits;
    const session = empty && this.first ? this.first : this.main;
    if (!input.updateCache) {
      // Scoring: only the logits come back, so no present is copied out.
      if (session === this.main) Object.assign(feeds, cache.feeds());
      return (await session.run(feeds, [logits]))[logits];
    }
    const added = input.tokens[0].length;
    if (session === this.main) Object.assign(feeds, cache.feeds());
    const fetches: Record<string, Tensor | null> = { [logits]: null, ...cache.fetches(added) };
    const out = await session.run(feeds, fetches as Record<string, Tensor>);
    cache.update(added, out);
    return out[logits];
  }
}
