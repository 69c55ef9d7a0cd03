// Issue 16 item 5 for chat templates: a hostile template (a billion-item range, nested loops that
// never end) is rendered within a time and memory budget in a separate process, so it gives one
// clear error naming the template — never a V8 abort (exit 133) or a hang — and Ctrl-C / SIGTERM
// still work while it renders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertBuilt, bin, defaultModelDir, repoRoot, textgen } from '../commands/chat-fixtures.js';
import { linkFolder, type TempFolder } from '../generation/fixtures.js';
import { renderChatTemplateBudgeted } from '../../generation/chat/template-render.js';
import { AbortedError, ModelError } from '../../generation/errors.js';

const BILLION = '{% for i in range(1000000000) %}{% endfor %}';
const NESTED =
  '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ messages[0].content }}';
const DOUBLING =
  '{% set l = range(1000000) %}{% for i in range(100) %}{% set l = l + l %}{% endfor %}{{ l | length }}';

/** The embedded default model with `template` as its chat template (symlinks; only tokenizer_config.json is new). */
function modelWith(template: string): TempFolder {
  const entries: Record<string, string | { text: string }> = {};
  for (const name of readdirSync(defaultModelDir)) entries[name] = join(defaultModelDir, name);
  const config = JSON.parse(readFileSync(join(defaultModelDir, 'tokenizer_config.json'), 'utf8'));
  entries['tokenizer_config.json'] = {
    text: JSON.stringify({ ...config, chat_template: template }),
  };
  return linkFolder(entries);
}

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  HOME: '/nonexistent',
  TEXTGEN_CONFIG_DIR: '/nonexistent/config',
  TEXTGEN_DATA_DIR: '/nonexistent/data',
  HF_HUB_CACHE: '/nonexistent/hub',
  ...extra,
});

function oneLine(stderr: string, message: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.match(lines[0], message, stderr);
  assert.ok(lines.length === 1 || (lines.length === 2 && lines[1].startsWith('  hint: ')), stderr);
  assert.doesNotMatch(stderr, /internal error|\n\s+at |FATAL/);
}

for (const [name, template, extra, message] of [
  ['a billion-item range', BILLION, {}, /failed: range\(\) of 1000000000 items is over the limit/],
  [
    'nested loops that never end',
    NESTED,
    { TEXTGEN_TEMPLATE_TIMEOUT_MS: '1500' },
    /did not finish rendering within 1\.5 s/,
  ],
] as const) {
  test(`generate and piped chat with ${name} in the template: one line naming it, exit 3; --raw skips it`, async () => {
    assertBuilt();
    const model = modelWith(template);
    try {
      const where = join(model.dir, 'tokenizer_config.json').replace(/[/.]/g, '\\$&');
      for (const args of [
        ['generate', '-m', model.dir, '-n', '4', 'Hello'],
        ['chat', '-m', model.dir, '-n', '4'],
      ]) {
        const run = await textgen(args, env(extra), 'Hello\n');
        assert.equal(run.exitCode, 3, `${args[0]}: ${run.stderr}`);
        oneLine(run.stderr, new RegExp(`^textgen: error: The chat template in ${where} `));
        oneLine(run.stderr, message);
      }
      const raw = await textgen(['generate', '-m', model.dir, '--raw', '-n', '4', 'Hello'], env());
      assert.equal(raw.exitCode, 0, raw.stderr);
    } finally {
      model.cleanup();
    }
  });
}

test('a template that allocates without bound stops its renderer, not textgen', async () => {
  await assert.rejects(
    renderChatTemplateBudgeted(
      DOUBLING,
      { messages: [{ role: 'user', content: 'hi' }], addGenerationPrompt: true },
      { timeoutMs: 120_000, name: 'the test template' },
    ),
    (e: unknown) =>
      e instanceof ModelError && /^The test template (stopped its renderer|failed)/.test(e.message),
  );
  // The renderer comes back for the next template.
  const text = await renderChatTemplateBudgeted('{{ messages[0].content }}!', {
    messages: [{ role: 'user', content: 'ok' }],
    addGenerationPrompt: true,
  });
  assert.equal(text, 'ok!');
});

test(
  'the main thread stays free while a template spins, and an abort stops it at once',
  { timeout: 60_000 },
  async () => {
    const controller = new AbortController();
    const rendering = renderChatTemplateBudgeted(
      NESTED,
      { messages: [{ role: 'user', content: 'hi' }], addGenerationPrompt: true },
      { timeoutMs: 600_000, signal: controller.signal },
    );
    // Timers still fire here while the template loops in the renderer.
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await assert.rejects(rendering, AbortedError);
  },
);

/** CPU seconds used so far by the children of `pid` (from /proc). */
function childCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(
    `${signal} ends generate while a template spins (no hang, no V8 abort)`,
    { timeout: 120_000 },
    async () => {
      assertBuilt();
      const model = modelWith(NESTED);
      try {
        const child = execa('node', [bin, 'generate', '-m', model.dir, '-n', '4', 'Hello'], {
          cwd: repoRoot,
          env: env({ TEXTGEN_TEMPLATE_TIMEOUT_MS: '600000' }),
          extendEnv: false,
          reject: false,
          stdin: 'ignore',
        });
        // The renderer burning CPU is the event: the template is being rendered now.
        while (childCpuSeconds(child.pid!) < 0.5) await new Promise((r) => setTimeout(r, 50));
        child.kill(signal);
        const done = await child;
        assert.ok([130, 143].includes(done.exitCode!), `exit ${done.exitCode}: ${done.stderr}`);
        assert.doesNotMatch(String(done.stderr), /internal error|FATAL|\n\s+at /);
      } finally {
        model.cleanup();
      }
    },
  );
}
