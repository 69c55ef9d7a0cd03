// Issues 18.3 and 18.5, errors and terminal conventions: an unknown command, subcommand or flag is
// one `textgen: error:` line with a did-you-mean (never parseArgs' message, never the whole help on
// stderr); help is wrapped to the terminal (80 columns when piped) with an Examples section for every
// command; -V/--version; shell completions; NO_COLOR and --no-color reach the chat TUI; the model
// picker's rows fit a narrow terminal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  assertBuilt,
  assertOneLineError,
  repoRoot,
  sandbox,
  textgen,
  type Sandbox,
} from './harness.js';
import { startInTerminal, ttySkip } from './tty.js';

let box: Sandbox;
const COMMANDS = [
  'chat',
  'generate',
  'models',
  'perplexity',
  'bench',
  'train',
  'config',
  'doctor',
  'completion',
];

before(() => {
  assertBuilt();
  box = sandbox();
  // Two cached models with long ids, for the picker (the embedded model: no fixtures needed).
  for (const name of [
    'a-model-with-a-rather-long-name-for-narrow-terminals',
    'second-model-also-with-a-long-name',
  ]) {
    const snapshot = join(box.env.HF_HUB_CACHE, `models--local--${name}`, 'snapshots', 'local');
    mkdirSync(snapshot, { recursive: true });
    mkdirSync(join(snapshot, '..', '..', 'refs'), { recursive: true });
    writeFileSync(join(snapshot, '..', '..', 'refs', 'main'), 'local');
    for (const f of [
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx',
    ])
      symlinkSync(join(repoRoot, 'models', 'default', f), join(snapshot, f));
  }
});
after(() => box.cleanup());

const MISTAKES: Array<[string[], RegExp]> = [
  [['genrate', 'Hi'], /^textgen: error: Unknown command 'genrate'\. Did you mean 'generate'\?$/],
  [['modles', 'list'], /Unknown command 'modles'\. Did you mean 'models'\?/],
  [['help', 'perplexty'], /Unknown command 'perplexty'\. Did you mean 'perplexity'\?/],
  [
    ['generate', '--temprature', '0.5', 'Hi'],
    /textgen generate has no flag --temprature\. Did you mean '--temperature'\?/,
  ],
  [
    ['generate', '--max-new-token=5', 'Hi'],
    /has no flag --max-new-token\. Did you mean '--max-new-tokens'\?/,
  ],
  [['chat', '--sytem', 'x'], /textgen chat has no flag --sytem\. Did you mean '--system'\?/],
  [['models', 'lst'], /Unknown models subcommand 'lst'\. Did you mean 'list'\?/],
  [['models', 'list', '--jsn'], /has no flag --jsn\. Did you mean '--json'\?/],
  [['generate', '--json=yes', 'Hi'], /^textgen: error: --json takes no value\.$/],
  [['generate', '--model'], /^textgen: error: --model needs a value \(ID\)\.$/],
  [['chat', 'stray'], /textgen chat takes no arguments \(got 'stray'\)/],
  [['completion', 'tcsh'], /No completion for 'tcsh'/],
  [[], /No command given \(the chat TUI needs a terminal\)/],
];

for (const [args, message] of MISTAKES) {
  test(`textgen ${args.join(' ') || '(nothing, piped)'}: one error line, exit 2`, async () => {
    const result = await textgen(args, box.env);
    assertOneLineError(result, 2, message);
    assert.equal(String(result.stdout), '');
    assert.doesNotMatch(String(result.stderr), /To specify a positional argument|Commands:\n/);
  });
}

test('help is wrapped to 80 columns when piped, and every command has Examples', async () => {
  const overview = await textgen(['help'], box.env);
  assert.equal(overview.exitCode, 0);
  for (const c of COMMANDS) assert.match(String(overview.stdout), new RegExp(`^  ${c} `, 'm'));
  for (const command of COMMANDS) {
    for (const args of [
      ['help', command],
      [command, '--help'],
    ]) {
      const result = await textgen(args, box.env);
      assert.equal(result.exitCode, 0, String(result.stderr));
      const out = String(result.stdout);
      for (const line of out.split('\n'))
        assert.ok(line.length <= 80, `${args.join(' ')}: ${line.length} columns: ${line}`);
      assert.match(out, /\nExamples:\n {2}\S/, `${command} has examples`);
      assert.equal(String(result.stderr), '');
    }
  }
});

test('help follows the terminal width (60 columns)', { skip: ttySkip }, async () => {
  const term = await startInTerminal(['help', 'generate'], box.env, { width: 60, height: 200 });
  try {
    assert.equal(await term.exitCode(), 0);
    const pane = await term.capture({ joined: false });
    const body = pane.split('\n').filter((l) => !l.startsWith('EXIT='));
    assert.ok(
      body.some((l) => l.length > 50),
      'uses the width',
    );
    for (const line of body) assert.ok(line.length <= 60, `${line.length}: ${line}`);
    // Nothing was cut: the same text joined is the 80-column text re-wrapped.
    assert.match(body.join(' '), /Examples:/);
  } finally {
    await term.close();
  }
});

test('-V and --version print the version (also after a command)', async () => {
  const { version } = JSON.parse(
    (await import('node:fs')).readFileSync(join(repoRoot, 'package.json'), 'utf8'),
  ) as { version: string };
  for (const args of [['-V'], ['--version'], ['generate', '--version']]) {
    const result = await textgen(args, box.env);
    assert.equal(result.exitCode, 0);
    assert.equal(String(result.stdout), `textgen ${version}\n`);
  }
});

test("bash completion completes commands, subcommands and each command's flags", async () => {
  const script = String((await textgen(['completion', 'bash'], box.env)).stdout);
  const complete = async (...words: string[]) => {
    const probe = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _textgen; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return (await execa('bash', ['-c', probe])).stdout.split('\n');
  };
  assert.deepEqual(await complete('textgen', 'gen'), ['generate', 'gen']);
  assert.ok(
    (await complete('textgen', 'generate', '--tem')).includes('--temperature'),
    '--tem completes to --temperature',
  );
  assert.ok(
    (await complete('textgen', 'gen', '--max-new')).includes('--max-new-tokens'),
    '--max-new completes to --max-new-tokens',
  );
  assert.deepEqual(await complete('textgen', 'models', 'p'), ['pull']);
  assert.ok(
    (await complete('textgen', 'chat', '--')).includes('--system'),
    'chat -- offers --system',
  );
  assert.ok(
    (await complete('textgen', 'completion', '')).includes('fish'),
    'completion offers fish',
  );
});

test('zsh and fish completions name every command and flag (and parse when the shell exists)', async () => {
  for (const shell of ['zsh', 'fish']) {
    const result = await textgen(['completion', shell], box.env);
    assert.equal(result.exitCode, 0, String(result.stderr));
    const script = String(result.stdout);
    for (const c of COMMANDS) assert.ok(script.includes(c), `${shell}: ${c}`);
    for (const flag of ['temperature', 'max-new-tokens', 'system', 'dtype', 'pull'])
      assert.ok(script.includes(flag), `${shell}: --${flag}`);
    const check = await execa(shell, ['-n'], { input: script, reject: false });
    if (check.exitCode !== undefined && !/ENOENT/.test(String(check.message)))
      assert.equal(check.exitCode, 0, `${shell} -n: ${check.stderr}`);
  }
});

/** SGR sequences that set a colour (30–37, 90–97, 38;…); bold/inverse alone are not colour. */
const COLOUR = new RegExp(
  `${String.fromCharCode(27)}\\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25])[;m]`,
);

test(
  'the chat TUI uses colour by default, none with NO_COLOR or --no-color',
  { skip: ttySkip },
  async () => {
    const run = async (args: string[], env: Record<string, string>) => {
      const term = await startInTerminal(['chat', ...args], env, { width: 100, height: 30 });
      try {
        await term.until(/Pick a model/);
        await term.until(/second-model/);
        return await term.capture({ escapes: true });
      } finally {
        await term.close();
      }
    };
    assert.match(await run([], box.env), COLOUR, 'colour by default (the test can see colour)');
    const noColor = await run([], { ...box.env, NO_COLOR: '1' });
    assert.doesNotMatch(noColor, COLOUR);
    assert.match(noColor, /Filter: _/, 'a visible cursor without styles');
    assert.doesNotMatch(await run(['--no-color'], box.env), COLOUR);
  },
);

test(
  'model picker rows fit a 44-column terminal (cut, never wrapped)',
  { skip: ttySkip },
  async () => {
    const term = await startInTerminal(['chat'], box.env, { width: 44, height: 30 });
    try {
      await term.until(/second-model/);
      const raw = await term.capture({ joined: false });
      const joined = await term.capture();
      // tmux joins wrapped lines with -J: the same line count means no row wrapped.
      assert.equal(raw.split('\n').length, joined.split('\n').length, raw);
      assert.ok(
        raw.split('\n').every((l) => l.length <= 44),
        'every line fits 44 columns',
      );
      assert.match(raw, /a-model-with-a-rather-long-name/);
    } finally {
      await term.close();
    }
  },
);
