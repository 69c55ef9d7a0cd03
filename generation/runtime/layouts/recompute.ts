/**
 * Graphs without past inputs (optimum's decoder_model.onnx alone): every step feeds the whole
 * sequence again, with positions recomputed from the attention-mask history, and reads the last
 * position's logits. Slow (quadratic) but exact.
 */
import type { Session, Tensor } from '../ort.js';
import type { DecoderInputs } from './plain-inputs.js';
import type { CacheLayout, StepInput } from './types.js';

/** Recompute the sequence each step. */
export class RecomputeLayout implements CacheLayout {
  readonly kind = 'recompute' as const;
  readonly cached = false;

  constructor(
    private readonly session: Session,
    private readonly inputs: DecoderInputs,
  ) {}

  newCache(): undefined {
    return undefined;
  }

  async run(_cache: undefined, input: StepInput): Promise<Tensor> {
    // Left-padding slots get position 1, as in a cached run; real tokens count from 0.
    const positions = input.masks.map((m) => {
      let p = 0;
      return m.map((bit) => (bit ? p++ : 1));
    });
    const feeds = this.inputs.build(input.history, positions, input.masks, input.keep, false);
    const logits = this.inputs.names.logits;
    return (await this.session.run(feeds, [logits]))[logits];
  }
}
