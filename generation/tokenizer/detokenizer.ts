/**
 * Streaming detokenizer. Decoding one token at a time loses Llama-style leading spaces (the Metaspace
 * decoder strips the first token's space) and splits multi-byte UTF-8 characters across byte-fallback
 * tokens. Instead a small window of ids is decoded and only the new, stable suffix is emitted; text that
 * ends in U+FFFD (an incomplete character) is held back until the next token completes it.
 */

/** The decode function the detokenizer needs (skip special tokens). */
export type DecodeFn = (ids: number[]) => string;

/** How many already-emitted tokens stay in the window as left context for the next decode. */
const CONTEXT_TOKENS = 6;

/** Incremental text for one sequence of generated ids. */
export class StreamingDetokenizer {
  private ids: number[];
  private readOffset: number;
  /** decode(ids[0:readOffset]), kept so each push decodes once instead of twice. */
  private prefixText?: string;

  /** `contextIds` are the prompt ids (their last few give the first generated token its leading space). */
  constructor(
    private readonly decode: DecodeFn,
    contextIds: ArrayLike<number> = [],
  ) {
    this.ids = Array.from(contextIds).slice(-CONTEXT_TOKENS);
    this.readOffset = this.ids.length;
  }

  /** Adds one token and returns the text that became final ('' when held back). */
  push(id: number): string {
    this.ids.push(id);
    const prefixText = (this.prefixText ??= this.decode(this.ids.slice(0, this.readOffset)));
    const fullText = this.decode(this.ids);
    // Held back: an incomplete character, or a decoder that rewrote earlier text (waits for stability).
    if (
      fullText.length <= prefixText.length ||
      fullText.endsWith('\uFFFD') ||
      !fullText.startsWith(prefixText)
    )
      return '';
    this.advance(fullText);
    return fullText.slice(prefixText.length);
  }

  /** Emits whatever is held back (an incomplete character becomes U+FFFD, as a full decode would). */
  flush(): string {
    if (this.readOffset >= this.ids.length) return '';
    const prefixText = this.prefixText ?? this.decode(this.ids.slice(0, this.readOffset));
    const fullText = this.decode(this.ids);
    this.advance(fullText);
    let common = 0;
    while (common < prefixText.length && prefixText[common] === fullText[common]) common++;
    return fullText.slice(common);
  }

  /**
   * Marks everything decoded as emitted. The window then grows to twice the context before it is cut
   * back to CONTEXT_TOKENS, so most pushes reuse the previous decode as their prefix text.
   */
  private advance(fullText: string): void {
    this.readOffset = this.ids.length;
    this.prefixText = fullText;
    if (this.ids.length > 2 * CONTEXT_TOKENS) {
      this.ids = this.ids.slice(-CONTEXT_TOKENS);
      this.readOffset = this.ids.length;
      this.prefixText = undefined;
    }
  }
}
