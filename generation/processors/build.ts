/**
 * Builds the processor chain for one generate() call from resolved settings, in the order of
 * transformers' `_get_logits_processor`: sequence bias (logit_bias), repetition penalty, then the
 * OpenAI presence/frequency penalty (not in transformers; placed beside its sibling penalty),
 * no_repeat_ngram, bad_words, min_new_tokens, forced BOS, forced EOS, suppress_tokens; then, only
 * when sampling, the warpers temperature, top_k, top_p, min_p, typical_p. Settings at their neutral
 * value add nothing, so greedy decoding with defaults runs an empty chain.
 */
import { UsageError } from '../errors.js';
import type { GenerationSettings } from '../settings.js';
import { noRepeatNGram } from './ngram.js';
import { presenceFrequencyPenalty, repetitionPenalty } from './penalties.js';
import {
  badWords,
  forcedBos,
  forcedEos,
  logitBias,
  minNewTokens,
  suppressTokens,
} from './token-rules.js';
import type { LogitsProcessor } from './types.js';
import { minPWarper, temperatureWarper, topKWarper, topPWarper, typicalWarper } from './warpers.js';

/** What the builder needs to know about the model. */
export interface ProcessorModelInfo {
  /** EOS ids from the model; settings.eos_token_id overrides them. */
  eosTokenIds: number[];
  vocabSize: number;
}

function checkIds(ids: Iterable<number>, vocabSize: number, what: string): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new UsageError(
        `${what} contains token id ${id}, outside the model's vocabulary (0..${vocabSize - 1}).`,
      );
    }
  }
}

/** The logit_bias map as (id, bias) pairs, checked against the vocabulary as SequenceBiasLogitsProcessor does. */
function biasMap(bias: Record<number, number>, vocabSize: number): Map<number, number> {
  const map = new Map<number, number>();
  for (const [key, value] of Object.entries(bias)) {
    const id = Number(key);
    checkIds([id], vocabSize, 'logit_bias');
    if (value !== 0) map.set(id, value);
  }
  return map;
}

/**
 * Returns the non-neutral processors (and warpers when do_sample) in transformers' order. Beam
 * sampling keeps `eos count + 1` tokens in the filtering warpers, as transformers does, so a beam can
 * always continue past an EOS candidate. Throws UsageError for bias or bad-word ids outside the vocabulary.
 */
export function buildLogitsProcessors(
  settings: GenerationSettings,
  model: ProcessorModelInfo,
): LogitsProcessor[] {
  const eos = settings.eos_token_id ?? model.eosTokenIds;
  const list: LogitsProcessor[] = [];
  const bias = biasMap(settings.logit_bias, model.vocabSize);
  if (bias.size > 0) list.push(logitBias(bias));
  if (settings.repetition_penalty !== 1) list.push(repetitionPenalty(settings.repetition_penalty));
  if (settings.presence_penalty !== 0 || settings.frequency_penalty !== 0) {
    list.push(presenceFrequencyPenalty(settings.presence_penalty, settings.frequency_penalty));
  }
  if (settings.no_repeat_ngram_size > 0) list.push(noRepeatNGram(settings.no_repeat_ngram_size));
  if (settings.bad_words_ids.length > 0) {
    checkIds(settings.bad_words_ids.flat(), model.vocabSize, 'bad_words_ids');
    list.push(badWords(settings.bad_words_ids, eos));
  }
  if (settings.min_new_tokens > 0 && eos.length > 0)
    list.push(minNewTokens(settings.min_new_tokens, eos));
  if (settings.forced_bos_token_id !== undefined)
    list.push(forcedBos(settings.forced_bos_token_id));
  if (settings.forced_eos_token_id !== undefined && settings.forced_eos_token_id.length > 0) {
    list.push(forcedEos(settings.forced_eos_token_id, settings.max_new_tokens));
  }
  if (settings.suppress_tokens.length > 0) list.push(suppressTokens(settings.suppress_tokens));
  if (settings.do_sample)
    list.push(...buildWarpers(settings, settings.num_beams > 1 ? eos.length + 1 : 1));
  return list;
}

/** The sampling warpers in transformers' order: temperature, top_k, top_p, min_p, typical_p. */
function buildWarpers(s: GenerationSettings, minTokensToKeep: number): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (s.temperature !== 1) list.push(temperatureWarper(s.temperature));
  if (s.top_k !== 0) list.push(topKWarper(s.top_k, minTokensToKeep));
  if (s.top_p < 1) list.push(topPWarper(s.top_p, minTokensToKeep));
  if (s.min_p > 0) list.push(minPWarper(s.min_p, minTokensToKeep));
  if (s.typical_p < 1) list.push(typicalWarper(s.typical_p, minTokensToKeep));
  return list;
}
