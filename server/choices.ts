/**
 * Log-probabilities in the two shapes OpenAI defines: the legacy completions object (tokens,
 * token_logprobs, top_logprobs, text_offset) and chat's list of {token, logprob, bytes, top_logprobs}.
 * Token strings are the text each id adds after other text, cached per call.
 */
import type { GenerationEvent, TextGenerator, TokenLogprob } from '../generation/index.js';
import type { CompletionCall } from './requests.js';

/** The done event. */
export type Done = Extract<GenerationEvent, { type: 'done' }>;
/** A token event. */
export type TokenEvent = Extract<GenerationEvent, { type: 'token' }>;

/** Formats token log-probabilities for one call. */
export class LogprobFormatter {
  private readonly texts = new Map<number, Promise<string>>();
  /** Characters of text so far per choice (text_offset continues across streamed chunks). */
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly generator: TextGenerator,
    private readonly call: CompletionCall,
  ) {}

  /**
   * The text a token adds after other text: decoding it alone would drop the leading space that
   * SentencePiece-style decoders strip from the first token, so it is decoded after itself.
   */
  private text(id: number): Promise<string> {
    let text = this.texts.get(id);
    if (!text) {
      const [one, two] = [this.generator.detokenize([id]), this.generator.detokenize([id, id])];
      text = Promise.all([one, two]).then(([a, b]) => (b.startsWith(a) ? b.slice(a.length) : a));
      this.texts.set(id, text);
    }
    return text;
  }

  /** The logprobs object of `list` (a whole sequence, or one streamed token) of choice `choice`. */
  async format(list: TokenLogprob[], choice: string): Promise<object> {
    const top = this.call.logprobs ?? 0;
    const ids = new Set<number>();
    for (const entry of list) {
      ids.add(entry.token_id);
      for (const alt of entry.top.slice(0, top)) ids.add(alt.token_id);
    }
    const names = new Map<number, string>();
    await Promise.all([...ids].map(async (id) => names.set(id, await this.text(id))));
    if (this.call.kind === 'chat') {
      const item = (id: number, logprob: number) => {
        const token = names.get(id)!;
        return { token, logprob, bytes: [...Buffer.from(token, 'utf8')] };
      };
      return {
        content: list.map((e) => ({
          ...item(e.token_id, e.logprob),
          top_logprobs: e.top.slice(0, top).map((a) => item(a.token_id, a.logprob)),
        })),
      };
    }
    let offset = this.offsets.get(choice) ?? 0;
    const offsets = list.map((e) => {
      const at = offset;
      offset += names.get(e.token_id)!.length;
      return at;
    });
    this.offsets.set(choice, offset);
    return {
      tokens: list.map((e) => names.get(e.token_id)!),
      token_logprobs: list.map((e) => e.logprob),
      top_logprobs: list.map((e) =>
        Object.fromEntries(e.top.slice(0, top).map((a) => [names.get(a.token_id)!, a.logprob])),
      ),
      text_offset: offsets,
    };
  }
}
