/**
 * Beam search over any {@link StepModel}, with transformers' scoring (see beam-scorer.ts): each step the
 * logits become log-probabilities, the processors run on them (as transformers applies them in beam
 * search), the scorer picks the next beams, and the KV cache is reordered by beam index before the next
 * forward. Beam search is deterministic: sampling warpers are not applied. Per-token logprobs
 * (settings.logprobs) are not reported for beams; resolveSettings rejects asking for them here.
 */
import type { GenerationEvent } from '../events.js';
import type { GenerationSettings } from '../settings.js';
import { buildLogitsProcessors } from '../processors/build.js';
import { logSoftmax } from '../softmax.js';
import { BeamSearch } from './beam-scorer.js';
import {
  copyRows,
  expandRows,
  newTokenBudget,
  type LoopModel,
  type LoopRequest,
} from './sample-loop.js';
import { SequenceStream } from './sequence-stream.js';
import { StatsClock } from './stats.js';

/** Runs beam search and yields stats and done (beams are not streamed: the best is known at the end). */
export async function* beamLoop(
  model: LoopModel,
  request: LoopRequest,
): AsyncGenerator<GenerationEvent> {
  const { settings, prompts } = request;
  const beams = settings.num_beams;
  const clock = new StatsClock(model.contextLength);
  const maxNew = newTokenBudget(model, prompts, settings.max_new_tokens);
  const origin = expandRows(prompts.length, beams);
  const startIds = prompts.map((p) => model.step.startIds(p));
  const processors = buildLogitsProcessors(
    { ...settings, do_sample: false } as GenerationSettings,
    { eosTokenIds: model.eosTokenIds, vocabSize: model.step.vocabSize },
  );
  const search = new BeamSearch({
    batchSize: prompts.length,
    numBeams: beams,
    lengthPenalty: settings.length_penalty,
    earlyStopping: settings.early_stopping,
    numReturnSequences: settings.num_return_sequences,
    eosTokenIds: model.eosTokenIds,
    padTokenId: model.padTokenId,
    maxNewTokens: maxNew,
  });
  const vocab = model.step.vocabSize;
  clock.startPrefill();
  let logits = await model.step.start(prompts);
  model.step.reorder(origin);
  logits = copyRows(logits, origin, vocab);
  clock.endPrefill();
  clock.prompt = prompts.reduce((a, p) => a + p.length, 0);
  let aborted = false;
  for (let step = 0; step < maxNew; step++) {
    for (let r = 0; r < origin.length; r++) {
      const row = logits.subarray(r * vocab, (r + 1) * vocab);
      logSoftmax(row, row);
      if (processors.length === 0) continue;
      const ids = [...startIds[origin[r]], ...search.generated(r)];
      for (const p of processors)
        p.apply(row, {
          ids,
          promptLength: startIds[origin[r]].length,
          maxLength: startIds[origin[r]].length + maxNew,
        });
    }
    const next = search.step(logits, vocab);
    clock.token();
    if (next.finished) break;
    if (request.isAborted()) {
      aborted = true;
      break;
    }
    model.step.reorder(next.beamIndices);
    logits = await model.step.step(next.tokens);
  }
  const eos = new Set(model.eosTokenIds);
  const sequences = search.finalize().flatMap((results, p) =>
    results.map((result) => {
      const stream = new SequenceStream(
        model.decode,
        model.step.textContext(prompts[p]),
        settings.stop,
        model.cleanup,
      );
      // finalize() pads short beams with EOS as transformers does; a stopped search did not end them.
      const padded = aborted && !result.endedWithEos && eos.has(result.tokens.at(-1)!);
      const tokens = padded ? result.tokens.slice(0, -1) : result.tokens;
      for (const id of tokens) if (!stream.done) stream.push(id, eos.has(id));
      stream.finish(result.endedWithEos ? 'eos' : 'length');
      // An interrupted search returns provisional beams: none of them is a finished answer.
      return aborted
        ? { ...stream.result(result.score), finish_reason: 'aborted' as const }
        : stream.result(result.score);
    }),
  );
  clock.completion = sequences.reduce((a, s) => a + s.token_ids.length, 0);
  clock.contextUsed = model.step.used(prompts[0]) + (sequences[0]?.token_ids.length ?? 0);
  const stats = clock.stats();
  yield { type: 'stats', stats };
  const reason = aborted ? 'aborted' : (sequences[0]?.finish_reason ?? 'length');
  yield { type: 'done', reason, sequences, stats };
}
