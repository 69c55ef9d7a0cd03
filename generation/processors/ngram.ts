/** transformers' NoRepeatNGramLogitsProcessor: no n-gram may occur twice in prompt + generated ids. */
import { FILTERED, type LogitsProcessor } from './types.js';

/**
 * Bans every token that would complete an n-gram already present in ctx.ids (prompt included, as
 * transformers uses the whole input_ids). With `cur_len = ids.length`, nothing is banned while
 * `cur_len + 1 < n`; otherwise the last n−1 ids are looked up among all earlier n-grams' prefixes.
 */
export function noRepeatNGram(n: number): LogitsProcessor {
  return {
    name: 'no_repeat_ngram',
    apply(logits, ctx) {
      const ids = ctx.ids;
      const len = ids.length;
      if (len + 1 < n) return;
      const start = len + 1 - n;
      for (let i = 0; i + n <= len; i++) {
        let match = true;
        for (let k = 0; k < n - 1 && match; k++) match = ids[i + k] === ids[start + k];
        if (!match) continue;
        const banned = ids[i + n - 1];
        if (banned >= 0 && banned < logits.length) logits[banned] = FILTERED;
      }
    },
  };
}
