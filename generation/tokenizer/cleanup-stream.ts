/**
 * transformers' `clean_up_tokenization` (" ." → ".", " n't" → "n't", ...) applied to streamed text.
 * Applied to each decode window it would rewrite text already sent, so the stream decodes without it
 * and this filter applies it on the way out, holding back only a tail that could still become one of
 * the patterns (a lone trailing space, " n", " '", ...).
 */

const PATTERNS: Array<[string, string]> = [
  [' .', '.'],
  [' ?', '?'],
  [' !', '!'],
  [' ,', ','],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

/** Applies the clean-up rules to the whole string (what a full decode does). */
export function cleanUpTokenization(text: string): string {
  let out = text;
  for (const [from, to] of PATTERNS) out = out.split(from).join(to);
  return out;
}

/** Streaming form of {@link cleanUpTokenization}. */
export class CleanupStream {
  private pending = '';

  /** Adds text; returns what is final. */
  push(delta: string): string {
    const text = this.pending + delta;
    let out = '';
    let i = 0;
    while (i < text.length) {
      const rest = text.slice(i);
      const match = PATTERNS.find(([from]) => rest.startsWith(from));
      if (match) {
        out += match[1];
        i += match[0].length;
      } else if (text[i] === ' ' && PATTERNS.some(([from]) => from.startsWith(rest))) {
        break;
      } else {
        out += text[i];
        i++;
      }
    }
    this.pending = text.slice(i);
    return out;
  }

  /** Returns the held-back tail at the end of the text. */
  flush(): string {
    const tail = this.pending;
    this.pending = '';
    return tail;
  }
}
