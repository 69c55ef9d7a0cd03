/**
 * The typed events that generate() yields. The TUI and the plain stdout renderer both consume them.
 */

/** Why a sequence stopped: EOS token, length limit, a stop string, or the user's AbortSignal. */
export type FinishReason = 'eos' | 'length' | 'stop' | 'aborted';

/** Timing and size figures for one generate() call; times in milliseconds. */
export interface GenerationStats {
  /** Prompt tokens fed to the model (per sequence, excluding cached tokens that were reused). */
  promptTokens: number;
  /** Prompt tokens served from a reused KV cache (chat turns). */
  cachedTokens: number;
  /** Tokens generated (all returned sequences together). */
  completionTokens: number;
  /** From the request to the first generated token (includes prefill). */
  ttftMs: number;
  /** Prefill time. */
  prefillMs: number;
  /** Time spent decoding after the first token. */
  decodeMs: number;
  /** Prompt tokens per second during prefill. */
  promptTokensPerSecond: number;
  /** Generated tokens per second after the first token. */
  tokensPerSecond: number;
  /** Tokens now in the context window of the (first) sequence. */
  contextUsed: number;
  /** The model's context length. */
  contextLength: number;
}

/** One finished sequence. */
export interface SequenceResult {
  /** Generated text (stop strings removed). */
  text: string;
  /** Generated token ids (prompt excluded). */
  token_ids: number[];
  finish_reason: FinishReason;
  /** Beam score (sum of log-probabilities / length^length_penalty) when beam search ran. */
  score?: number;
  /** One entry per generated token when settings.logprobs > 0 (greedy and sampling; not beam search). */
  logprobs?: TokenLogprob[];
}

/** A token id with its text and natural-log probability. */
export interface TokenLogprobEntry {
  token_id: number;
  /** The token on its own, decoded (special tokens included), e.g. " the" or "</s>". */
  token: string;
  logprob: number;
}

/**
 * A generated token's log-probability under the distribution it was chosen from (the logits after
 * every processor and warper), with the most likely finite alternatives, most likely first.
 */
export interface TokenLogprob extends TokenLogprobEntry {
  top: TokenLogprobEntry[];
}

/** A new piece of text for sequence `sequence`; `text` may be '' while bytes are held back. */
export interface TokenEvent {
  type: 'token';
  sequence: number;
  id: number;
  text: string;
  /** This token's log-probability when settings.logprobs > 0 (streamed logprobs). */
  logprob?: TokenLogprob;
}

/** Periodic figures; the last one equals the stats of the done event. */
export interface StatsEvent {
  type: 'stats';
  stats: GenerationStats;
}

/** The end of a generate() call. */
export interface DoneEvent {
  type: 'done';
  /** Finish reason of the first sequence (the one streamed). */
  reason: FinishReason;
  sequences: SequenceResult[];
  stats: GenerationStats;
}

/** Something the user should know about this call (a remote engine ignoring a setting). */
export interface NoticeEvent {
  type: 'notice';
  message: string;
}

/** Anything generate() yields. */
export type GenerationEvent = TokenEvent | StatsEvent | DoneEvent | NoticeEvent;
