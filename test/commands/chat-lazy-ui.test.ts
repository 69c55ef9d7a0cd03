// Piped chat must not load Ink or React: only the TUI needs them. Checked by behaviour: the built CLI
// runs a piped chat on the embedded model under a module-loader hook that logs every module it
// resolves, and the log must hold the chat modules but nothing from ink or react. The same hook on the
// TUI entry shows it does see ink when it is loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { repoRoot } from '../shared-fixtures.js';

/** Writes the hook (resolve → append the URL to $LOADED_LOG) and its registration module. */
function loaderHook(dir: string): string {
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.LOADED_LOG, result.url + '\\n');
  return result;
}
`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
  );
  return register;
}

/** Runs node with the hook; returns the run and the URLs it resolved. */
async function traced(dir: string, args: string[], input = '') {
  const log = join(dir, `loaded-${args.length}.log`);
  writeFileSync(log, '');
  const run = await execa('node', ['--import', pathToFileURL(loaderHook(dir)).href, ...args], {
    cwd: repoRoot,
    input,
    reject: false,
    extendEnv: false,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: join(dir, 'home'),
      HF_HUB_CACHE: join(dir, 'hub'),
      TEXTGEN_CONFIG_DIR: join(dir, 'config'),
      TEXTGEN_DATA_DIR: join(dir, 'data'),
      LOADED_LOG: log,
    },
  });
  return { run, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

const uiPackages = (urls: string[]) => urls.filter((u) => /\/node_modules\/(ink|react)\//.test(u));

test('piped chat loads no ink or react; the TUI entry does', async (t) => {
  assert.ok(
    existsSync(join(repoRoot, 'dist', 'commands', 'chat.js')),
    'dist/ is built (npm run build)',
  );
  const dir = mkdtempSync(join(tmpdir(), 'textgen-lazy-ui-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const model = join(repoRoot, 'models', 'default');
  const { run, urls } = await traced(
    dir,
    [
      join(repoRoot, 'bin', 'textgen.js'),
      'chat',
      '--model',
      model,
      '-n',
      '4',
      '--temperature',
      '0',
    ],
    'Call me Ishmael.\n',
  );
  assert.equal(run.exitCode, 0, String(run.stderr));
  assert.ok(String(run.stdout).length > 0, 'piped chat replied on stdout');
  assert.ok(
    urls.some((u) => u.endsWith('/dist/commands/chat-pipe.js')),
    `the hook saw the piped chat modules (${urls.length} resolved)`,
  );
  assert.deepEqual(uiPackages(urls), [], 'no ink/react module was resolved');

  const tui = await traced(dir, [
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'ui', 'render-chat.js')).href)});`,
  ]);
  assert.equal(tui.run.exitCode, 0, String(tui.run.stderr));
  assert.ok(uiPackages(tui.urls).length > 0, 'the hook sees ink/react when the TUI is loaded');
});
