/**
 * Penalties on tokens already seen: transformers' RepetitionPenaltyLogitsProcessor (prompt + generated
 * ids) and the OpenAI presence / frequency penalties (generated ids only), which transformers lacks.
 */
import { countIds, type LogitsProcessor } from './types.js';

/**
 * RepetitionPenaltyLogitsProcessor (CTRL, Keskar et al. 2019): for every distinct id in ctx.ids,
 * `score < 0 ? score * penalty : score / penalty`, applied once per id however often it occurs.
 */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  // torch multiplies/divides float32 scores by the penalty cast to float32.
  const f = Math.fround(penalty);
  return {
    name: 'repetition_penalty',
    apply(logits, ctx) {
      const seen = new Set<number>();
      for (let i = 0; i < ctx.ids.length; i++) {
        const id = ctx.ids[i];
        if (seen.has(id) || id < 0 || id >= logits.length) continue;
        seen.add(id);
        const v = logits[id];
        logits[id] = v < 0 ? v * f : v / f;
      }
    },
  };
}

/**
 * OpenAI presence and frequency penalties over the generated ids only:
 * `logit[j] -= presence * (count[j] > 0) + frequency * count[j]`.
 */
export function presenceFrequencyPenalty(presence: number, frequency: number): LogitsProcessor {
  return {
    name: 'presence_frequency_penalty',
    apply(logits, ctx) {
      for (const [id, count] of countIds(ctx.ids, ctx.promptLength)) {
        if (id < 0 || id >= logits.length) continue;
        logits[id] -= presence + frequency * count;
      }
    },
  };
}
