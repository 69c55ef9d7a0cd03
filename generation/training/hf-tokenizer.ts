/**
 * Writes a trained BPE model as Hugging Face tokenizer files, in the layout of the Llama/SentencePiece
 * conversions (the same as stories260K-onnx): Prepend+Replace normalizer, BPE with byte_fallback,
 * BOS added by TemplateProcessing, decoder Replace ▁→space, ByteFallback, Fuse, Strip one leading space.
 */
import { type BpeModel, SPECIALS } from './bpe-trainer.js';

/** The tokenizer.json object of `model`. */
export function tokenizerJson(model: BpeModel): object {
  const vocab: Record<string, number> = {};
  model.vocab.forEach((t, i) => {
    vocab[t] = i;
  });
  const bos = { SpecialToken: { id: '<s>', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        bos,
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: model.merges,
    },
  };
}

/** The tokenizer_config.json object for a context of `contextLength` tokens. */
export function tokenizerConfigJson(contextLength: number): object {
  return {
    tokenizer_class: 'LlamaTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    add_bos_token: true,
    add_eos_token: false,
    legacy: true,
    clean_up_tokenization_spaces: false,
    model_max_length: contextLength,
  };
}

/** special_tokens_map.json, as in the reference layout. */
export function specialTokensMapJson(): object {
  return { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
}
