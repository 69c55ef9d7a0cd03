// Test helper for the chat end-to-end tests: a temp sandbox whose hub cache holds stories260K twice,
// as `local/stories` (no chat template: completion mode) and `local/stories-chat` (a temp copy whose
// tokenizer_config.json gets the real Llama-2 chat template of ort-genai-tiny-random-llama-fp16).
// Config and data folders point into the sandbox so nothing touches the real home folder.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot, sharedModels } from '../shared-fixtures.js';

export { repoRoot };
export const modelsDir = sharedModels;
export const storiesDir = join(modelsDir, 'stories260K-onnx');
export const bin = join(repoRoot, 'bin', 'textgen.js');
/** The embedded default model (in the repository: tests on it need no fixtures). */
export const defaultModelDir = join(repoRoot, 'models', 'default');

/** Fails early with a clear message when the CLI has not been built. */
export function assertBuilt(): void {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'chat.js')))
    throw new Error('dist/ is missing: run `npm run build` before these tests');
}

export interface ChatSandbox {
  root: string;
  env: Record<string, string>;
  /** The snapshot folder of local/stories-chat (the templated copy). */
  chatModelDir: string;
  cleanup(): void;
}

function cacheModel(
  hub: string,
  name: string,
  files: Record<string, string | undefined>,
  source = storiesDir,
): string {
  const repo = join(hub, `models--local--${name}`);
  const snapshot = join(repo, 'snapshots', 'local');
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), 'local');
  for (const entry of readdirSync(source)) {
    const replacement = files[entry];
    if (replacement === undefined) symlinkSync(join(source, entry), join(snapshot, entry));
    else writeFileSync(join(snapshot, entry), replacement);
  }
  return snapshot;
}

/** The sandbox's environment: every config, data and cache path inside `root`. */
function sandboxEnv(root: string, hub: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: join(root, 'home'),
    HF_HUB_CACHE: hub,
    TEXTGEN_CONFIG_DIR: join(root, 'config'),
    TEXTGEN_DATA_DIR: join(root, 'data'),
    TERM: 'xterm-256color',
  };
}

/**
 * A sandbox like the chat one whose cache holds only the embedded default model, as `local/tiny`
 * (`chatModelDir` is its snapshot): for tests that need a model but no fixtures.
 */
export function defaultModelSandbox(): ChatSandbox {
  const root = mkdtempSync(join(tmpdir(), 'textgen-chat-'));
  const hub = join(root, 'hub');
  const chatModelDir = cacheModel(hub, 'tiny', {}, defaultModelDir);
  const env = sandboxEnv(root, hub);
  return { root, env, chatModelDir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Creates the sandbox described above. */
export function chatSandbox(): ChatSandbox {
  const root = mkdtempSync(join(tmpdir(), 'textgen-chat-'));
  const hub = join(root, 'hub');
  cacheModel(hub, 'stories', {});
  const llamaConfig = JSON.parse(
    readFileSync(
      join(modelsDir, 'ort-genai-tiny-random-llama-fp16', 'tokenizer_config.json'),
      'utf8',
    ),
  );
  const storiesConfig = JSON.parse(readFileSync(join(storiesDir, 'tokenizer_config.json'), 'utf8'));
  const chatModelDir = cacheModel(hub, 'stories-chat', {
    'tokenizer_config.json': JSON.stringify({
      ...storiesConfig,
      chat_template: llamaConfig.chat_template,
    }),
  });
  const env = sandboxEnv(root, hub);
  return { root, env, chatModelDir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** What a finished `textgen` process left: exit code and both streams as text. */
export interface TextgenRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** Runs `textgen ...args` with piped stdin; never rejects. */
export async function textgen(
  args: string[],
  env: Record<string, string>,
  input = '',
): Promise<TextgenRun> {
  const result = await execa('node', [bin, ...args], {
    cwd: repoRoot,
    env,
    extendEnv: false,
    reject: false,
    input,
    timeout: 60_000,
  });
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  };
}
