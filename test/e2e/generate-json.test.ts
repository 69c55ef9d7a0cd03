// Issue 18 item 2 for outputs: one spelling of JSON keys (snake_case) in every --json output, the
// generate --json / --jsonl schemas as the README documents them, the seed that was used (and that
// it replays), and each logprob's token text.
import {
  sharedAfter as after,
  sharedBefore as before,
  sharedTest as test,
} from '../shared-fixtures.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertBuilt,
  chatSandbox,
  repoRoot,
  storiesDir,
  textgen,
  type ChatSandbox,
} from '../commands/chat-fixtures.js';
import { TextTokenizer } from '../../generation/tokenizer/tokenizer.js';

let box: ChatSandbox;
before(() => {
  assertBuilt();
  box = chatSandbox();
});
after(() => box.cleanup());

/** Every object key anywhere in `value` that is not snake_case. */
function badKeys(value: unknown, skip: readonly string[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => badKeys(v, skip));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(/[A-Z-]/.test(k) && !/[./]/.test(k) ? [k] : []),
    ...(skip.includes(k) ? [] : badKeys(v, skip)),
  ]);
}

async function run(args: string[], input?: string) {
  const r = await textgen(args, box.env, input);
  assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The keys the README lists (first column, in backticks) under the heading `title`. */
function readmeKeys(title: string): { all: string[]; required: string[] } {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(title);
  assert.ok(start >= 0, `README has no section ${title}`);
  const section = readme.slice(start + title.length).split(/\n#{2,4} /)[0];
  const rows = [...section.matchAll(/^\| `([a-z_.[\]]+)` \| ([^|]*) \|/gm)];
  const optional = (key: string) =>
    rows.some(
      ([, k, type]) =>
        type.includes('*optional*') &&
        (key === k || key.startsWith(`${k}.`) || key.startsWith(`${k}[]`)),
    );
  const all = rows.map((m) => m[1]);
  return { all, required: all.filter((k) => !optional(k)) };
}

/** The output's key paths are documented, and every documented key that always appears does. */
function matchesReadme(value: unknown, title: string): void {
  const documented = readmeKeys(title);
  const paths = keyPaths(value);
  assert.deepEqual(
    paths.filter((p) => !documented.all.includes(p)),
    [],
    `undocumented in ${title}`,
  );
  assert.deepEqual(
    documented.required.filter((k) => !paths.includes(k)),
    [],
    `missing from ${title}`,
  );
}

/** Key paths of a JSON value as the README writes them: `a`, `a.b`, `a[].b`. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length ? keyPaths(value[0], `${prefix}[]`) : [];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return [path, ...keyPaths(v, path)];
  });
}

test('generate --json: the documented schema, snake_case keys, the seed used, token texts', async () => {
  const out = JSON.parse(
    await run(['generate', '-m', 'local/stories', '--json', '--logprobs', '2', '-n', '6', 'Once']),
  );
  assert.deepEqual(badKeys(out), []);
  matchesReadme(out, '#### `generate --json`');
  const beams = JSON.parse(
    await run(['generate', '-m', 'local/stories', '--json', '--num-beams', '2', '-n', '3', 'Once']),
  );
  matchesReadme(beams, '#### `generate --json`');
  assert.equal(typeof beams.sequences[0].score, 'number');
  assert.ok(Number.isSafeInteger(out.seed), 'sampling reports the seed it used');
  // The reported seed replays the run.
  const again = JSON.parse(
    await run([
      'generate',
      '-m',
      'local/stories',
      '--json',
      '--seed',
      String(out.seed),
      '-n',
      '6',
      'Once',
    ]),
  );
  assert.deepEqual(again.sequences[0].token_ids, out.sequences[0].token_ids);
  assert.equal(again.seed, out.seed);
  // Each logprob names its token's text (special tokens included), as the tokenizer decodes it.
  const tokenizer = TextTokenizer.load(
    storiesDir,
    JSON.parse(readFileSync(join(storiesDir, 'tokenizer_config.json'), 'utf8')),
  );
  for (const lp of out.sequences[0].logprobs) {
    assert.equal(lp.token, tokenizer.decode([lp.token_id], false));
    for (const alt of lp.top) assert.equal(alt.token, tokenizer.decode([alt.token_id], false));
  }
  const greedy = JSON.parse(
    await run(['generate', '-m', 'local/stories', '--json', '--greedy', '-n', '2', 'Once']),
  );
  assert.equal(greedy.seed, null);
});

test('generate --jsonl: the documented schema for answers and for errors', async () => {
  const lines = (
    await textgen(
      ['generate', '-m', 'local/stories', '--jsonl', '--logprobs', '1', '-n', '3'],
      box.env,
      '{"prompt":"A","seed":3}\n{"prompt":"B","top_k":"x"}\n',
    )
  ).stdout
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(badKeys(lines), []);
  matchesReadme(lines[0], '#### `generate --jsonl`');
  assert.equal(lines[0].seed, 3);
  matchesReadme(lines[1], '#### `--jsonl` error lines');
});

test('every --json output spells its keys in snake_case', async () => {
  const outputs: Array<[string[], readonly string[]]> = [
    [['doctor', '--json'], []],
    [['models', 'list', '--json'], []],
    [['models', 'show', 'local/stories', '--json'], ['config']],
    [['config', 'show', '--json'], []],
    [['bench', '-m', 'local/stories', '-p', '8', '-n', '4', '-r', '1', '--json'], []],
    [
      [
        'perplexity',
        '-m',
        'local/stories',
        '--json',
        join(storiesDir, '..', 'corpus-tinystories-sample', 'tinystories-sample.txt'),
      ],
      [],
    ],
  ];
  for (const [args, skip] of outputs) {
    const value = JSON.parse(await run(args));
    assert.deepEqual(badKeys(value, skip), [], args.join(' '));
  }
});
