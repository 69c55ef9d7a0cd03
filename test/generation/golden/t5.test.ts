// tiny-random-t5 (seeded random T5, encoder + merged decoder) against its PyTorch golden.json: greedy
// ids and text, the right-padded batch with HF's finished-rows-padded semantics, and beam search
// (num_beams 3, 3 returned, early stopping) with scores; then the split decoder layout
// (decoder_model + decoder_with_past_model) must give the same results.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel, type TextGenerator } from '../../../generation/index.js';
import { fixture, generateAll, linkFolder, type TempFolder } from '../fixtures.js';
import { t5Golden } from '../goldens.js';
import { sharedDescribe as describe } from '../../shared-fixtures.js';

const T5 = fixture('tiny-random-t5');

/** The golden checks, run against one model folder. */
function goldenSuite(
  name: string,
  open: () => Promise<{ generator: TextGenerator; cleanup?: () => void }>,
  expectedFiles: string[],
): void {
  // Skipped without the fixtures; the golden file is read only when the suite runs.
  describe(name, () => {
    const golden = t5Golden();
    const beam = golden.beam_search;
    const BEAM_SETTINGS = {
      num_beams: beam.num_beams,
      num_return_sequences: beam.num_return_sequences,
      early_stopping: beam.early_stopping,
      length_penalty: beam.length_penalty,
      max_new_tokens: beam.max_new_tokens,
    };
    let generator: TextGenerator;
    let cleanup: (() => void) | undefined;

    before(async () => {
      ({ generator, cleanup } = await open());
    });

    after(async () => {
      await generator.dispose();
      cleanup?.();
    });

    test('loads as text2text-generation with the expected decoder files', () => {
      assert.equal(generator.info.task, 'text2text-generation');
      assert.deepEqual(generator.info.eosTokenIds, [golden.eos_token_id]);
      assert.deepEqual(
        generator.info.onnxFiles.map((f) => f.split('/').pop()).sort(),
        [...expectedFiles].sort(),
      );
    });

    test('greedy: 6 golden cases (input ids with </s>, generated ids, decoded text, finish reason)', async () => {
      for (const c of golden.greedy.cases) {
        assert.deepEqual(await generator.tokenize(c.text), c.input_ids, c.text);
        const { done, deltas } = await generateAll(generator, c.text, {
          max_new_tokens: golden.greedy.max_new_tokens,
        });
        const [sequence] = done.sequences;
        assert.deepEqual(sequence.token_ids, c.generated_ids, c.text);
        assert.deepEqual(
          [golden.decoder_start_token_id, ...sequence.token_ids],
          c.sequence,
          c.text,
        );
        assert.equal(sequence.text, c.decoded, c.text);
        assert.equal(deltas[0].join(''), c.decoded, c.text);
        assert.equal(sequence.finish_reason, c.stopped_at_eos ? 'eos' : 'length', c.text);
      }
    });

    test('greedy batch: rows match sequences_hf (finished rows padded with pad 0) and decoded_hf', async () => {
      const b = golden.greedy_batch;
      const { done } = await generateAll(generator, b.texts, { max_new_tokens: b.max_new_tokens });
      const width = Math.max(...done.sequences.map((s) => s.token_ids.length)) + 1;
      const padded = done.sequences.map((s) => {
        const row = [golden.decoder_start_token_id, ...s.token_ids];
        return [...row, ...new Array(width - row.length).fill(golden.pad_token_id)];
      });
      assert.deepEqual(padded, b.sequences_hf);
      assert.deepEqual(
        done.sequences.map((s) => s.text),
        b.decoded_hf,
      );
    });

    test('beam search: the 3 returned hypotheses of all 6 inputs, ids and scores within 1e-4', async () => {
      for (const c of beam.cases) {
        const { done } = await generateAll(generator, c.text, BEAM_SETTINGS);
        assert.equal(done.sequences.length, c.returned.length, c.text);
        c.returned.forEach((expected, i) => {
          const got = done.sequences[i];
          assert.deepEqual(got.token_ids, expected.sequence.slice(1), `${c.text} #${i}`);
          assert.ok(
            got.score !== undefined && Math.abs(got.score - expected.score) < 1e-4,
            `${c.text} #${i}: score ${got.score} vs ${expected.score}`,
          );
          assert.equal(got.text, expected.decoded, `${c.text} #${i}`);
          const endsWithEos = expected.sequence.at(-1) === golden.eos_token_id;
          assert.equal(got.finish_reason, endsWithEos ? 'eos' : 'length', `${c.text} #${i}`);
        });
        assert.deepEqual(done.sequences[0].token_ids, c.sequence.slice(1), `${c.text}: best`);
      }
    });

    test('beam search on a batch of 2 prompts: each gets its own golden best hypothesis', async () => {
      const cases = [beam.cases[1], beam.cases[3]];
      const { done } = await generateAll(
        generator,
        cases.map((c) => c.text),
        { ...BEAM_SETTINGS, num_return_sequences: 1 },
      );
      assert.deepEqual(
        done.sequences.map((s) => s.token_ids),
        cases.map((c) => c.sequence.slice(1)),
      );
      done.sequences.forEach((s, i) =>
        assert.ok(
          Math.abs(s.score! - cases[i].sequence_score) < 1e-4,
          `score ${s.score} vs ${cases[i].sequence_score}`,
        ),
      );
    });

    test('num_return_sequences 2 with top_k 1: encoder states and cross K/V are expanded per row', async () => {
      const cases = golden.greedy.cases.slice(0, 2);
      const { done } = await generateAll(
        generator,
        cases.map((c) => c.text),
        {
          max_new_tokens: golden.greedy.max_new_tokens,
          do_sample: true,
          top_k: 1,
          num_return_sequences: 2,
          seed: 3,
        },
      );
      assert.deepEqual(
        done.sequences.map((s) => s.token_ids),
        cases.flatMap((c) => [c.generated_ids, c.generated_ids]),
      );
    });
  });
}

goldenSuite(
  'merged decoder (the transformers.js layout)',
  async () => ({ generator: await loadModel(T5, { inProcess: true }) }),
  ['encoder_model.onnx', 'decoder_model_merged.onnx'],
);

goldenSuite(
  'split decoder (decoder_model + decoder_with_past_model, no merged file)',
  async () => {
    const files = [
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
    ];
    const entries: Record<string, string> = Object.fromEntries(files.map((f) => [f, join(T5, f)]));
    for (const n of ['encoder_model.onnx', 'decoder_model.onnx', 'decoder_with_past_model.onnx'])
      entries[`onnx/${n}`] = join(T5, 'onnx', n);
    const folder: TempFolder = linkFolder(entries);
    return { generator: await loadModel(folder.dir, { inProcess: true }), cleanup: folder.cleanup };
  },
  ['encoder_model.onnx', 'decoder_model.onnx', 'decoder_with_past_model.onnx'],
);
