// The streaming detokenizer against the real tokenizers: the concatenated deltas must equal
// decode(context + generated) − decode(context), every delta must be final (a prefix of the end
// result), and a multi-byte character split over byte-fallback tokens must never surface as U+FFFD.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SequenceStream } from '../../../generation/decode/sequence-stream.js';
import { TextTokenizer } from '../../../generation/tokenizer/tokenizer.js';
import { fixture, readFixtureJson } from '../fixtures.js';
import { gpt2Golden, storiesGolden, t5Golden, type StoriesGolden } from '../goldens.js';
// These tests read the fixtures' tokenizers: skipped, with the reason, when they are missing.
import { sharedBefore as before, sharedTest as test } from '../../shared-fixtures.js';

function loadTokenizer(name: string): TextTokenizer {
  return TextTokenizer.load(fixture(name), readFixtureJson(name, 'tokenizer_config.json'));
}

let stories: TextTokenizer;
let gpt2: TextTokenizer;
let t5: TextTokenizer;
let golden: StoriesGolden;

before(() => {
  stories = loadTokenizer('stories260K-onnx');
  gpt2 = loadTokenizer('tiny-random-gpt2');
  t5 = loadTokenizer('tiny-random-t5');
  golden = storiesGolden();
});

/** Streams `generated` after `context`, one push per id and a final flush; returns every delta. */
function stream(tok: TextTokenizer, context: number[], generated: number[]): string[] {
  // The production path: raw window decoding, then the tokenizer's clean-up applied as a stream.
  const sequence = new SequenceStream((ids) => tok.decodeRaw(ids), context, [], tok.cleansUp);
  const deltas = generated.map((id) => sequence.push(id, false));
  deltas.push(sequence.finish('length'));
  return deltas;
}

/** Checks the streaming invariants and returns the streamed text. */
function checkStream(
  tok: TextTokenizer,
  context: number[],
  generated: number[],
  label: string,
): string {
  const deltas = stream(tok, context, generated);
  const before = tok.decode(context);
  const full = tok.decode([...context, ...generated]);
  assert.ok(full.startsWith(before), `${label}: decode(context) is a prefix of the full decode`);
  const expected = full.slice(before.length);
  assert.equal(deltas.join(''), expected, label);
  if (!expected.includes('\uFFFD')) {
    deltas.forEach((d, i) =>
      assert.ok(!d.includes('\uFFFD'), `${label}: delta ${i} ${JSON.stringify(d)} has U+FFFD`),
    );
  }
  return deltas.join('');
}

test('stories260K golden tokenizer examples: streaming after BOS equals the full decode', () => {
  for (const [text, ids] of Object.entries(golden.tokenizer_examples_llama2c_encode_with_bos)) {
    assert.equal(checkStream(stories, ids.slice(0, 1), ids.slice(1), text), text);
  }
});

test('byte fallback: a CJK character spread over three byte tokens is held back, then emitted whole', () => {
  const ids = golden.tokenizer_examples_llama2c_encode_with_bos['Tom said 你好 to Lily'];
  const deltas = stream(stories, [ids[0]], ids.slice(1));
  // ids 231,192,163 are <0xE4><0xBD><0xA0> (你) and 232,168,192 are <0xE5><0xA5><0xBD> (好).
  const at = ids.indexOf(231) - 1;
  assert.deepEqual(deltas.slice(at, at + 6), ['', '', '你', '', '', '好']);
  assert.equal(deltas.join(''), 'Tom said 你好 to Lily');
});

test('byte fallback: every split of prompt and generation at a character boundary streams exactly', () => {
  const text = 'naïve café 你好 🙂🙂🙂🙂🙂🙂🙂🙂 done, Ωμέγα ñ «quoted»';
  const ids = stories.encode(text);
  assert.equal(stories.decode(ids), text);
  for (let k = 1; k < ids.length; k++) {
    if (stories.decode(ids.slice(0, k)).endsWith('\uFFFD')) continue;
    checkStream(stories, ids.slice(0, k), ids.slice(k), `split at ${k}`);
  }
});

test('a long byte-fallback run (8 emoji = 32 byte tokens, longer than the context window) streams exactly', () => {
  const ids = stories.encode('🙂🙂🙂🙂🙂🙂🙂🙂 and 🎉🎉 end');
  const deltas = stream(stories, ids.slice(0, 1), ids.slice(1));
  assert.equal(deltas.join(''), '🙂🙂🙂🙂🙂🙂🙂🙂 and 🎉🎉 end');
  for (const d of deltas) assert.ok(!d.includes('\uFFFD'), "!d.includes('\\uFFFD')");
});

test('an incomplete character at the end is flushed as U+FFFD, exactly as a full decode shows it', () => {
  const deltas = stream(stories, [1], [231, 192]);
  assert.deepEqual(deltas, ['', '', '\uFFFD']);
  assert.equal(deltas.join(''), stories.decode([1, 231, 192]));
});

test('long text over the sliding window: a TinyStories line and the BOS-only golden 200 ids', () => {
  const line = readFileSync(
    fixture('corpus-tinystories-sample', 'tinystories-sample.txt'),
    'utf8',
  ).split(/\r?\n/)[0];
  const ids = stories.encode(line);
  assert.ok(ids.length > 300, 'ids.length > 300');
  assert.equal(checkStream(stories, ids.slice(0, 1), ids.slice(1), 'tinystories line'), line);
  const bos = golden.bos_only_greedy_200;
  assert.equal(checkStream(stories, bos.prompt_ids, bos.generated_ids, 'bos-only 200'), bos.text);
});

test('Llama-style leading spaces are kept: word tokens after the first carry their space', () => {
  const ids = golden.tokenizer_examples_llama2c_encode_with_bos['Once upon a time'];
  const deltas = stream(stories, ids.slice(0, 1), ids.slice(1)).filter((d) => d !== '');
  assert.deepEqual(deltas, ['Once', ' upon', ' a', ' time']);
  const g = golden.prompt_once_upon_a_time_greedy_60;
  const continued = stream(stories, g.prompt_ids, g.generated_ids);
  assert.equal(continued[0], ',');
  assert.equal(continued[1], ' there');
  assert.equal(continued.join(''), g.continuation_text);
});

test('GPT-2 byte-level: golden continuations stream to the golden continuation_text (U+FFFD where the bytes are invalid)', () => {
  for (const g of gpt2Golden().greedy) {
    assert.equal(checkStream(gpt2, g.prompt_ids, g.generated_ids, g.prompt), g.continuation_text);
  }
});

test('GPT-2 byte-level: multi-byte characters split over byte tokens stream without U+FFFD', () => {
  const text = 'Tom said 你好 to Lily: é ü ö ß, Ωμέγα ñ';
  const ids = gpt2.encode(text);
  assert.equal(gpt2.decode(ids), text);
  assert.ok(ids.length > text.split(' ').length, 'some characters take several byte tokens');
  for (let k = 1; k < ids.length; k++) {
    if (gpt2.decode(ids.slice(0, k)).endsWith('\uFFFD')) continue;
    checkStream(gpt2, ids.slice(0, k), ids.slice(k), `gpt2 split at ${k}`);
  }
});

test('GPT-2 clean_up_tokenization_spaces: a lone space token before "!" neither stalls the stream nor leaves an extra space', () => {
  // tokenizer_config.json has no clean_up_tokenization_spaces, so decode() removes the space of " !",
  // " ,", " n't" ...; here " !" is two tokens (a lone "Ġ", then "!"), so the space is decoded first.
  const ids = gpt2.encode("Hello . World , and ! yes I do n't know");
  const lone = ids.findIndex(
    (id, i) => gpt2.decode([id]) === ' ' && gpt2.decode([ids[i + 1]]) === '!',
  );
  assert.ok(lone > 0, 'the text has a lone space token before "!"');
  const deltas = stream(gpt2, ids.slice(0, 1), ids.slice(1));
  const expected = gpt2.decode(ids).slice(gpt2.decode(ids.slice(0, 1)).length);
  assert.equal(deltas.join(''), expected);
  // Tokens whose delta is empty, in a row: " n't" arrives as " n" + "'" + "t", so a clean-up pattern may
  // hold text back for two tokens, never longer.
  let run = 0;
  let longestWait = 0;
  for (const d of deltas.slice(0, -1)) {
    run = d === '' ? run + 1 : 0;
    longestWait = Math.max(longestWait, run);
  }
  assert.ok(
    longestWait <= 2,
    `text is held back for ${longestWait} tokens in a row: ${JSON.stringify(deltas)}`,
  );
});

test('T5 Metaspace: generated ids streamed without text context equal the golden decode', () => {
  for (const c of t5Golden().greedy.cases) {
    const deltas = stream(t5, [], c.generated_ids);
    assert.equal(deltas.join(''), c.decoded, c.text);
    assert.equal(deltas.join(''), t5.decode(c.sequence));
  }
});
