/**
 * A byte-fallback BPE tokenizer trainer and encoder in the Llama / SentencePiece style: spaces become
 * "▁" and a "▁" is prepended, words are "▁"-led runs, characters outside the learned alphabet fall back
 * to <0xNN> byte tokens. Encoding here equals Hugging Face tokenizers' BPE on the emitted tokenizer.json.
 */

/** The special tokens, always ids 0, 1, 2. */
export const SPECIALS = ['<unk>', '<s>', '</s>'] as const;
/** Id of the begin-of-sequence token. */
export const BOS_ID = 1;
/** Id of the end-of-sequence token. */
export const EOS_ID = 2;
const BYTE_BASE = 3;

/** A trained BPE vocabulary: tokens by id, and the merges in rank order (pairs of token strings). */
export interface BpeModel {
  vocab: string[];
  merges: [string, string][];
}

/** The normalisation of the tokenizer.json: prepend "▁", replace every space by "▁". */
export function normalize(text: string): string {
  return '▁' + text.replace(/ /g, '▁');
}

/** Splits normalised text into words: a run of "▁" followed by non-"▁" characters. */
export function splitWords(normalized: string): string[] {
  return normalized.match(/▁*[^▁]+|▁+/gu) ?? [];
}

/** The <0xNN> token of a byte. */
export function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

function countWords(docs: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const doc of docs)
    for (const w of splitWords(normalize(doc))) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** Characters by frequency, keeping those that cover `coverage` of all character occurrences. */
function alphabetOf(counts: Map<string, number>, coverage: number, maxSize: number): string[] {
  const chars = new Map<string, number>();
  let total = 0;
  for (const [w, n] of counts)
    for (const ch of w) {
      chars.set(ch, (chars.get(ch) ?? 0) + n);
      total += n;
    }
  const sorted = [...chars].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const out: string[] = [];
  let covered = 0;
  for (const [ch, n] of sorted) {
    if (out.length >= maxSize || (covered >= coverage * total && out.length > 0)) break;
    out.push(ch);
    covered += n;
  }
  return out;
}

/**
 * Learns a vocabulary of `vocabSize` tokens from documents: specials, 256 byte tokens, an alphabet of
 * characters, then merges of the most frequent adjacent pair (ties broken by the smaller ids).
 */
export function trainBpe(docs: Iterable<string>, vocabSize: number, coverage = 0.9999): BpeModel {
  const counts = countWords(docs);
  const vocab: string[] = [...SPECIALS];
  for (let b = 0; b < 256; b++) vocab.push(byteToken(b));
  const alphabet = alphabetOf(counts, coverage, Math.max(1, vocabSize - vocab.length));
  const ids = new Map<string, number>();
  for (const ch of alphabet) {
    ids.set(ch, vocab.length);
    vocab.push(ch);
  }
  const index = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const words: Int32Array[] = [];
  const freqs: number[] = [];
  for (const [w, n] of counts) {
    // -1 marks a character outside the alphabet: it becomes bytes and never merges.
    words.push(Int32Array.from([...w], (ch) => ids.get(ch) ?? -1));
    freqs.push(n);
  }
  const lens = words.map((w) => w.length);
  const pairs = new Map<number, number>();
  const key = (a: number, b: number): number => a * 65536 + b;
  const addPairs = (wi: number, sign: number): void => {
    const w = words[wi];
    for (let i = 0; i + 1 < lens[wi]; i++) {
      if (w[i] < 0 || w[i + 1] < 0) continue;
      const k = key(w[i], w[i + 1]);
      pairs.set(k, (pairs.get(k) ?? 0) + sign * freqs[wi]);
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);
  const merges: [string, string][] = [];
  while (vocab.length < vocabSize) {
    let best = -1,
      bestCount = 0;
    for (const [k, n] of pairs)
      if (n > bestCount || (n === bestCount && n > 0 && k < best)) {
        best = k;
        bestCount = n;
      }
    if (bestCount < 2) break;
    const a = Math.floor(best / 65536),
      b = best % 65536;
    const merged = vocab[a] + vocab[b];
    let id = index.get(merged) ?? -1;
    pairs.delete(best);
    // A merge spelling a byte or special token ("<0x41>", "<s>") would alias it: never learn one.
    if (id >= 0 && id < BYTE_BASE + 256) continue;
    if (id < 0) {
      id = vocab.length;
      vocab.push(merged);
      index.set(merged, id);
    }
    merges.push([vocab[a], vocab[b]]);
    for (let wi = 0; wi < words.length; wi++) {
      const w = words[wi];
      let has = false;
      for (let i = 0; i + 1 < lens[wi]; i++)
        if (w[i] === a && w[i + 1] === b) {
          has = true;
          break;
        }
      if (!has) continue;
      addPairs(wi, -1);
      let j = 0;
      for (let i = 0; i < lens[wi]; i++) {
        if (i + 1 < lens[wi] && w[i] === a && w[i + 1] === b) {
          w[j++] = id;
          i++;
        } else w[j++] = w[i];
      }
      lens[wi] = j;
      addPairs(wi, 1);
    }
    pairs.delete(best);
  }
  return { vocab, merges };
}

/** Encodes text with a trained model, as the emitted tokenizer.json does (without BOS/EOS). */
export class BpeEncoder {
  private readonly ids = new Map<string, number>();
  private readonly ranks = new Map<number, number>();
  private readonly cache = new Map<string, number[]>();

  /** Indexes the vocabulary and merge ranks of `model`. */
  constructor(readonly model: BpeModel) {
    model.vocab.forEach((t, i) => {
      if (i >= BYTE_BASE + 256 || i < SPECIALS.length) this.ids.set(t, i);
    });
    model.merges.forEach(([a, b], r) =>
      this.ranks.set(this.ids.get(a)! * 65536 + this.ids.get(b)!, r),
    );
  }

  /** Token ids of `text`. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const w of splitWords(normalize(text))) {
      let ids = this.cache.get(w);
      if (!ids) {
        ids = this.encodeWord(w);
        if (this.cache.size < 200_000) this.cache.set(w, ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  private encodeWord(word: string): number[] {
    const syms: number[] = [];
    for (const ch of word) {
      const id = this.ids.get(ch);
      if (id !== undefined) syms.push(id);
      else for (const byte of Buffer.from(ch, 'utf8')) syms.push(BYTE_BASE + byte);
    }
    const vocab = this.model.vocab;
    for (;;) {
      let bestRank = Infinity,
        at = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.ranks.get(syms[i] * 65536 + syms[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          at = i;
        }
      }
      if (at < 0) return syms;
      syms.splice(at, 2, this.ids.get(vocab[syms[at]] + vocab[syms[at + 1]])!);
    }
  }
}
