/**
 * Beam-search bookkeeping, a port of transformers' BeamSearchScorer / BeamHypotheses (4.3x–4.4x,
 * with decoder_prompt_len): pure arithmetic over the per-beam log-probability rows the engine
 * computes (log_softmax, then the logits processors, as transformers applies them in beam search).
 *
 * All lengths here count generated tokens only (transformers' `cur_len − decoder_prompt_len`); for an
 * encoder-decoder model the decoder start token is the "prompt". Per step, for each prompt:
 * - candidate score = float32(processed log-prob + beam score); the top max(2, 1 + #EOS)·num_beams
 *   candidates over all of the prompt's beams are taken, best first (ties: lower beam, then lower id);
 * - an EOS candidate ranked below num_beams becomes a finished hypothesis scored
 *   sum_logprobs / (generated length incl. EOS)^length_penalty; other EOS candidates are skipped;
 * - the first num_beams non-EOS candidates become the next beams;
 * - the prompt is done when it has num_beams hypotheses and either early_stopping is true or the
 *   worst kept score >= best candidate score / (generated length)^length_penalty.
 * At the end, unfinished beams join the hypotheses with score / (their length)^length_penalty, the
 * best num_return_sequences are returned, and eos_token_id[0] is appended to those shorter than
 * min(longest returned + 1, max_new_tokens), exactly as transformers' finalize does.
 */

/** Fixed parameters of one beam search. */
export interface BeamSearchOptions {
  /** Number of prompts; rows are laid out prompt-major: row = prompt × numBeams + beam. */
  batchSize: number;
  numBeams: number;
  lengthPenalty: number;
  /** true: stop a prompt once numBeams hypotheses are finished; false: transformers' heuristic. */
  earlyStopping: boolean;
  numReturnSequences: number;
  eosTokenIds: number[];
  /** Token fed to the rows of prompts that are already done. */
  padTokenId: number;
  /** Generated tokens allowed (transformers' max_length − decoder prompt length). */
  maxNewTokens: number;
}

/** The outcome of one step. */
export interface BeamStep {
  /** Next token of each row (pad for prompts already done). */
  tokens: number[];
  /**
   * For each row, the row it continues: reorder the KV cache by it before feeding `tokens`. Rows of
   * a prompt already done point at that prompt's own rows (transformers points them at row 0; the
   * values are never read).
   */
  beamIndices: number[];
  /** true once every prompt is done or max_new_tokens is reached; then call finalize(). */
  finished: boolean;
}

/** One returned sequence. */
export interface BeamResult {
  /** Generated ids (prompt excluded), with eos_token_id[0] appended as transformers does. */
  tokens: number[];
  /** Length-normalised score (transformers' sequences_scores). */
  score: number;
  /** Whether the hypothesis was finished by an EOS candidate (else it ran out of length). */
  endedWithEos: boolean;
}

/** Ascending comparison that, unlike subtraction, orders equal infinities as equal. */
function byScore(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Hypothesis {
  score: number;
  tokens: number[];
  eos: boolean;
}

/** BeamHypotheses: the best numBeams finished hypotheses of one prompt. */
class Hypotheses {
  readonly beams: Hypothesis[] = [];
  private worst = 1e9;

  constructor(private readonly o: BeamSearchOptions) {}

  add(tokens: number[], sumLogprobs: number, generatedLength: number, eos: boolean): void {
    const score =
      generatedLength > 0 ? sumLogprobs / generatedLength ** this.o.lengthPenalty : sumLogprobs;
    if (this.beams.length >= this.o.numBeams && !(score > this.worst)) return;
    this.beams.push({ score, tokens, eos });
    if (this.beams.length > this.o.numBeams) {
      // Python sorts (score, index) pairs: the lowest score goes, the earliest one on ties.
      const order = this.beams
        .map((b, i) => [b.score, i] as const)
        .sort((a, b) => byScore(a[0], b[0]) || a[1] - b[1]);
      this.beams.splice(order[0][1], 1);
      this.worst = order[1][0];
    } else {
      this.worst = Math.min(score, this.worst);
    }
  }

  isDone(bestSumLogprobs: number, generatedLength: number): boolean {
    if (this.beams.length < this.o.numBeams) return false;
    if (this.o.earlyStopping) return true;
    return this.worst >= bestSumLogprobs / generatedLength ** this.o.lengthPenalty;
  }
}

interface Candidate {
  score: number;
  row: number;
  token: number;
}

/** The k best (score + beam score) candidates over rows [first, first + numBeams), best first. */
function topCandidates(
  scores: Float32Array,
  vocab: number,
  beamScores: Float32Array,
  first: number,
  numBeams: number,
  k: number,
): Candidate[] {
  const top: Candidate[] = [];
  for (let row = first; row < first + numBeams; row++) {
    const base = beamScores[row];
    const offset = row * vocab;
    for (let v = 0; v < vocab; v++) {
      const score = Math.fround(scores[offset + v] + base);
      if (Number.isNaN(score)) continue;
      // Strict >: an equal score found later has a higher flat index and ranks after.
      if (top.length === k && !(score > top[k - 1].score)) continue;
      let at = top.length === k ? k - 1 : top.length;
      while (at > 0 && score > top[at - 1].score) at--;
      if (top.length === k) top.pop();
      top.splice(at, 0, { score, row, token: v });
    }
  }
  return top;
}

/** Beam search state for a batch of prompts: live beams, their scores and finished hypotheses. */
export class BeamSearch {
  /** Running sum of log-probs per row (float32, as transformers' beam_scores). */
  beamScores: Float32Array;
  private sequences: number[][];
  private readonly hyps: Hypotheses[];
  private readonly done: boolean[];
  private readonly candidatesPerPrompt: number;

  constructor(private readonly o: BeamSearchOptions) {
    const rows = o.batchSize * o.numBeams;
    // Only beam 0 starts live, so the first step does not pick the same token numBeams times.
    this.beamScores = Float32Array.from({ length: rows }, (_, r) =>
      r % o.numBeams === 0 ? 0 : -1e9,
    );
    this.sequences = Array.from({ length: rows }, () => []);
    this.hyps = Array.from({ length: o.batchSize }, () => new Hypotheses(o));
    this.done = new Array<boolean>(o.batchSize).fill(false);
    this.candidatesPerPrompt = Math.max(2, 1 + o.eosTokenIds.length) * o.numBeams;
  }

  /** Generated ids of a live row (prompt excluded), for the processors' context. */
  generated(row: number): readonly number[] {
    return this.sequences[row];
  }

  /** Whether every prompt has enough finished hypotheses. */
  get isDone(): boolean {
    return this.done.every(Boolean);
  }

  /**
   * Advances one token. `scores` holds batchSize × numBeams rows of `vocabSize` processed
   * log-probabilities (row-major, same row layout as the beams).
   */
  step(scores: Float32Array, vocabSize: number): BeamStep {
    const { numBeams, batchSize } = this.o;
    const tokens = new Array<number>(batchSize * numBeams);
    const beamIndices = new Array<number>(batchSize * numBeams);
    const nextScores = new Float32Array(batchSize * numBeams);
    const length = this.sequences[0].length + 1;
    for (let b = 0; b < batchSize; b++) {
      const first = b * numBeams;
      if (this.done[b]) {
        for (let j = 0; j < numBeams; j++) {
          tokens[first + j] = this.o.padTokenId;
          beamIndices[first + j] = first + j;
        }
        continue;
      }
      const candidates = topCandidates(
        scores,
        vocabSize,
        this.beamScores,
        first,
        numBeams,
        this.candidatesPerPrompt,
      );
      let filled = 0;
      for (let rank = 0; rank < candidates.length && filled < numBeams; rank++) {
        const c = candidates[rank];
        if (this.o.eosTokenIds.includes(c.token)) {
          if (rank < numBeams)
            this.hyps[b].add(this.sequences[c.row].slice(), c.score, length, true);
          continue;
        }
        tokens[first + filled] = c.token;
        beamIndices[first + filled] = c.row;
        nextScores[first + filled] = c.score;
        filled++;
      }
      if (filled < numBeams)
        throw new Error(`beam search found ${filled} of ${numBeams} continuations`);
      this.done[b] = this.hyps[b].isDone(candidates[0].score, length);
    }
    this.sequences = beamIndices.map((src, r) => [...this.sequences[src], tokens[r]]);
    this.beamScores = nextScores;
    return { tokens, beamIndices, finished: this.isDone || length >= this.o.maxNewTokens };
  }

  /** Adds the live beams of unfinished prompts and returns numReturnSequences results per prompt, best first. */
  finalize(): BeamResult[][] {
    for (let b = 0; b < this.o.batchSize; b++) {
      if (this.done[b]) continue;
      for (let j = 0; j < this.o.numBeams; j++) {
        const row = b * this.o.numBeams + j;
        this.hyps[b].add(
          this.sequences[row].slice(),
          this.beamScores[row],
          this.sequences[row].length,
          false,
        );
      }
    }
    const chosen = this.hyps.map((h) => {
      // Python's stable sort by score, then pop() from the end: on ties the later-added comes first.
      const sorted = h.beams
        .map((x, i) => ({ x, i }))
        .sort((a, b) => byScore(a.x.score, b.x.score) || a.i - b.i);
      return sorted
        .slice(-this.o.numReturnSequences)
        .reverse()
        .map((e) => e.x);
    });
    const longest = Math.max(...chosen.flat().map((h) => h.tokens.length));
    const maxLen = Math.min(longest + 1, this.o.maxNewTokens);
    return chosen.map((list) =>
      list.map((h) => ({
        tokens:
          h.tokens.length < maxLen && this.o.eosTokenIds.length > 0
            ? [...h.tokens, this.o.eosTokenIds[0]]
            : h.tokens,
        score: h.score,
        endedWithEos: h.eos,
      })),
    );
  }
}
