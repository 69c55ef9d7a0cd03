/**
 * Processors that add to, ban or force particular token ids: logit bias (transformers'
 * SequenceBiasLogitsProcessor with one-token sequences), NoBadWordsLogitsProcessor,
 * MinNewTokensLengthLogitsProcessor, ForcedBOS/ForcedEOSTokenLogitsProcessor and
 * SuppressTokensLogitsProcessor.
 */
import { FILTERED, type LogitsProcessor } from './types.js';

/** Adds `bias[id]` to each listed id's logit on every step (OpenAI logit_bias). */
export function logitBias(bias: ReadonlyMap<number, number>): LogitsProcessor {
  return {
    name: 'logit_bias',
    apply(logits) {
      for (const [id, b] of bias) logits[id] += b;
    },
  };
}

/**
 * NoBadWordsLogitsProcessor (a SequenceBiasLogitsProcessor with −inf bias): a one-id sequence is
 * always banned; for a longer sequence its last id is banned when the ids end with its prefix. As in
 * transformers, a sequence longer than the whole context (`seq.length > ids.length`) is skipped, and
 * one-id sequences equal to an EOS id are dropped at construction.
 */
export function badWords(
  sequences: readonly (readonly number[])[],
  eosTokenIds: readonly number[],
): LogitsProcessor {
  const kept = sequences.filter((seq) => !(seq.length === 1 && eosTokenIds.includes(seq[0])));
  const single = kept.filter((seq) => seq.length === 1).map((seq) => seq[0]);
  const multi = kept.filter((seq) => seq.length > 1);
  return {
    name: 'bad_words',
    apply(logits, ctx) {
      for (const id of single) logits[id] = FILTERED;
      const ids = ctx.ids;
      for (const seq of multi) {
        if (seq.length > ids.length) continue;
        const prefix = seq.length - 1;
        let match = true;
        for (let k = 0; k < prefix && match; k++) match = ids[ids.length - prefix + k] === seq[k];
        if (match) logits[seq[prefix]] = FILTERED;
      }
    },
  };
}

/** MinNewTokensLengthLogitsProcessor: every EOS id is −inf while fewer than `minNewTokens` ids were generated. */
export function minNewTokens(minNew: number, eosTokenIds: readonly number[]): LogitsProcessor {
  return {
    name: 'min_new_tokens',
    apply(logits, ctx) {
      if (ctx.ids.length - ctx.promptLength >= minNew) return;
      for (const id of eosTokenIds) if (id >= 0 && id < logits.length) logits[id] = FILTERED;
    },
  };
}

/** Sets every logit to −inf and the listed ids to 0, as the forced-token processors do. */
function force(logits: Float32Array, ids: readonly number[]): void {
  logits.fill(FILTERED);
  for (const id of ids) if (id >= 0 && id < logits.length) logits[id] = 0;
}

/**
 * ForcedBOSTokenLogitsProcessor: forces `tokenId` when `ids.length === 1`, i.e. right after an
 * encoder-decoder model's decoder start token. transformers tests the absolute length, so with a
 * decoder-only prompt longer than one token it never fires; this keeps that behaviour.
 */
export function forcedBos(tokenId: number): LogitsProcessor {
  return {
    name: 'forced_bos',
    apply(logits, ctx) {
      if (ctx.ids.length === 1) force(logits, [tokenId]);
    },
  };
}

/**
 * ForcedEOSTokenLogitsProcessor: forces the EOS ids when `ids.length === max_length − 1`, the last
 * position max length allows. max_length is ctx.maxLength, or promptLength + maxNewTokens.
 */
export function forcedEos(tokenIds: readonly number[], maxNewTokens: number): LogitsProcessor {
  return {
    name: 'forced_eos',
    apply(logits, ctx) {
      const maxLength = ctx.maxLength ?? ctx.promptLength + maxNewTokens;
      if (ctx.ids.length === maxLength - 1) force(logits, tokenIds);
    },
  };
}

/** SuppressTokensLogitsProcessor: the listed ids are always −inf (ids outside the vocabulary are ignored, as torch.isin does). */
export function suppressTokens(tokenIds: readonly number[]): LogitsProcessor {
  return {
    name: 'suppress_tokens',
    apply(logits) {
      for (const id of tokenIds) if (id >= 0 && id < logits.length) logits[id] = FILTERED;
    },
  };
}
