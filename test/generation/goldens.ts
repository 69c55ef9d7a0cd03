// The shapes of the golden.json reference files in ../shared/models (written from PyTorch and
// llama2.c runs, see PROVENANCE.md), so the golden tests read them as typed data.
import { readSharedJson } from '../shared-fixtures.js';

/** stories260K/golden.json: llama2.c reference runs of the real TinyStories 260K model. */
export interface StoriesGolden {
  bos_only_greedy_200: { prompt_ids: number[]; generated_ids: number[]; text: string };
  prompt_once_upon_a_time_greedy_60: {
    prompt: string;
    prompt_ids: number[];
    generated_ids: number[];
    continuation_text: string;
  };
  tokenizer_examples_llama2c_encode_with_bos: Record<string, number[]>;
  perplexity_reference: Record<
    string,
    { lines: number; predicted_tokens: number; mean_nll: number; ppl: number }
  >;
}

/** One greedy reference of tiny-random-gpt2. */
export interface Gpt2GreedyCase {
  prompt: string;
  prompt_ids: number[];
  generated_ids: number[];
  stopped_by_eos: boolean;
  continuation_text: string;
}

/** tiny-random-gpt2/golden.json: PyTorch transformers runs of the seeded random GPT-2. */
export interface Gpt2Golden {
  greedy: Gpt2GreedyCase[];
  first_step_logits: { prompt_ids: number[]; first_10: number[]; argmax: number; max: number };
  tokenizer_once_upon_a_time: number[];
}

/** One returned beam hypothesis of tiny-random-t5. */
export interface T5Hypothesis {
  sequence: number[];
  score: number;
  decoded: string;
}

/** One beam search reference of tiny-random-t5. */
export interface T5BeamCase {
  text: string;
  sequence: number[];
  sequence_score: number;
  returned: T5Hypothesis[];
}

/** tiny-random-t5/golden.json: PyTorch transformers runs of the seeded random T5. */
export interface T5Golden {
  decoder_start_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
  greedy: {
    max_new_tokens: number;
    cases: Array<{
      text: string;
      input_ids: number[];
      sequence: number[];
      generated_ids: number[];
      stopped_at_eos: boolean;
      decoded: string;
    }>;
  };
  greedy_batch: {
    max_new_tokens: number;
    texts: string[];
    sequences_hf: number[][];
    decoded_hf: string[];
  };
  beam_search: {
    num_beams: number;
    length_penalty: number;
    early_stopping: boolean;
    max_new_tokens: number;
    num_return_sequences: number;
    cases: T5BeamCase[];
  };
}

/** Reads stories260K/golden.json. */
export function storiesGolden(): StoriesGolden {
  return readSharedJson<StoriesGolden>('stories260K', 'golden.json');
}

/** Reads tiny-random-gpt2/golden.json. */
export function gpt2Golden(): Gpt2Golden {
  return readSharedJson<Gpt2Golden>('tiny-random-gpt2', 'golden.json');
}

/** Reads tiny-random-t5/golden.json. */
export function t5Golden(): T5Golden {
  return readSharedJson<T5Golden>('tiny-random-t5', 'golden.json');
}
