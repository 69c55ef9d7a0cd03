/**
 * Per-token log-probabilities for `--logprobs`: the log-softmax (float64) of the row a token was
 * actually chosen from, i.e. the logits after every processor and warper, so filtered tokens
 * (−Infinity) have no probability and never appear among the alternatives.
 */
import type { TokenLogprob } from '../events.js';
import { logSumExp } from '../softmax.js';

/**
 * The chosen token's log-probability and the `top` most likely finite tokens of `row`, most likely
 * first (ties by lower id, as argmax), computed as x − max − log Σ exp(x − max) in float64. `text`
 * gives each id's text (the model's tokenizer; none in unit tests).
 */
export function tokenLogprob(
  row: Float32Array,
  token: number,
  top: number,
  text: (id: number) => string = () => '',
): TokenLogprob {
  const shift = logSumExp(row);
  // A small sorted list: the vocabulary is scanned once and only finite values better than the
  // current last entry are inserted, so the cost is O(vocab) for the usual top ≤ 20.
  const ids: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const x = row[i];
    if (x === Number.NEGATIVE_INFINITY || Number.isNaN(x)) continue;
    if (ids.length === top && x <= row[ids[ids.length - 1]]) continue;
    let at = ids.length;
    while (at > 0 && row[ids[at - 1]] < x) at--;
    ids.splice(at, 0, i);
    if (ids.length > top) ids.pop();
  }
  return {
    token_id: token,
    token: text(token),
    logprob: row[token] - shift,
    top: ids.map((id) => ({ token_id: id, token: text(id), logprob: row[id] - shift })),
  };
}
