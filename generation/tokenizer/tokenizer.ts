/**
 * The model's tokenizer: @huggingface/tokenizers over tokenizer.json, with tokenizer_config.json's
 * special tokens and add_bos_token/add_eos_token honoured the way transformers' fast tokenizers do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelError } from '../errors.js';
import type { TokenizerConfigJson } from '../model/config-json.js';

/** Special tokens named in tokenizer_config.json (strings). */
export interface SpecialTokens {
  bos?: string;
  eos?: string;
  unk?: string;
  pad?: string;
}

/** A loaded tokenizer with the operations generation needs. */
export class TextTokenizer {
  readonly special: SpecialTokens;
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId?: number;
  readonly vocabSize: number;
  /** Whether decode applies transformers' clean_up_tokenization (the library's default is true). */
  readonly cleansUp: boolean;
  private readonly addBos?: boolean;
  private readonly addEos?: boolean;

  private constructor(
    private readonly inner: Tokenizer,
    config: TokenizerConfigJson,
  ) {
    this.special = {
      bos: tokenString(config.bos_token),
      eos: tokenString(config.eos_token),
      unk: tokenString(config.unk_token),
      pad: tokenString(config.pad_token),
    };
    this.bosId = this.special.bos === undefined ? undefined : inner.token_to_id(this.special.bos);
    this.eosId = this.special.eos === undefined ? undefined : inner.token_to_id(this.special.eos);
    this.padId = this.special.pad === undefined ? undefined : inner.token_to_id(this.special.pad);
    this.cleansUp = config.clean_up_tokenization_spaces ?? true;
    this.addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : undefined;
    this.addEos = typeof config.add_eos_token === 'boolean' ? config.add_eos_token : undefined;
    this.vocabSize = inner.get_vocab(true).size;
  }

  /** Loads tokenizer.json and tokenizer_config.json from a model folder. */
  static load(dir: string, tokenizerConfig: TokenizerConfigJson): TextTokenizer {
    const path = join(dir, 'tokenizer.json');
    let json: object;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new ModelError(
        `${path} is not a valid tokenizer.json (${(error as Error).message}).`,
        'Re-download the model folder.',
      );
    }
    try {
      return new TextTokenizer(new Tokenizer(json, tokenizerConfig), tokenizerConfig);
    } catch (error) {
      throw new ModelError(
        `${path} could not be loaded as a Hugging Face tokenizer (${(error as Error).message}).`,
        'Re-download the model folder.',
      );
    }
  }

  /** Encodes text; with special tokens, BOS/EOS follow tokenizer_config's add_bos_token/add_eos_token. */
  encode(text: string, addSpecialTokens = true): number[] {
    const ids = this.inner.encode(text, { add_special_tokens: addSpecialTokens }).ids.slice();
    if (!addSpecialTokens) return ids;
    // tokenizer.json's post-processor and tokenizer_config's flags can disagree; transformers lets the
    // config flags win, so adjust BOS/EOS to them.
    if (this.bosId !== undefined && this.addBos !== undefined) {
      const has = ids[0] === this.bosId;
      if (this.addBos && !has) ids.unshift(this.bosId);
      if (!this.addBos && has) ids.shift();
    }
    if (this.eosId !== undefined && this.addEos !== undefined) {
      const has = ids.length > 0 && ids[ids.length - 1] === this.eosId;
      if (this.addEos && !has) ids.push(this.eosId);
      if (!this.addEos && has && this.eosId !== this.bosId) ids.pop();
    }
    return ids;
  }

  /** Decodes ids to text, skipping special tokens. */
  decode(ids: ArrayLike<number>, skipSpecialTokens = true): string {
    // The library rejects an empty list; an empty sequence is simply empty text.
    if (ids.length === 0) return '';
    return this.inner.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens });
  }

  /** Decodes ids skipping special tokens and without the clean-up, for streaming (see cleanup-stream.ts). */
  decodeRaw(ids: ArrayLike<number>): string {
    if (ids.length === 0) return '';
    return this.inner.decode(Array.from(ids), {
      skip_special_tokens: true,
      clean_up_tokenization_spaces: false,
    });
  }

  /** One more than the highest id of the base vocabulary (added tokens excluded). */
  baseVocabLimit(): number {
    let max = -1;
    for (const id of this.inner.get_vocab(false).values()) if (id > max) max = id;
    return max + 1;
  }

  /** The id of a token string, if it is in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }
}

function tokenString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (
    value &&
    typeof value === 'object' &&
    typeof (value as { content?: unknown }).content === 'string'
  ) {
    return (value as { content: string }).content;
  }
  return undefined;
}
