// Test helpers shared by the generation tests: paths of the shared model fixtures, temp model folders
// assembled from symlinks (big files are never copied), and a small driver that runs one generation
// and collects its events.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  resolveSettings,
  type GenerationEvent,
  type SettingsLayer,
  type TextGenerator,
} from '../../generation/index.js';

export {
  repoRoot,
  needsShared,
  sharedModel as fixture,
  readSharedJson as readFixtureJson,
} from '../shared-fixtures.js';

/** The files of the shared stories260K-onnx fixture that a model folder needs (onnx + tokenizer). */
export const STORIES_ONNX_FILES = [
  'onnx/model.onnx',
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
] as const;

/** The files besides the ONNX graph that a model folder needs: configs and tokenizer. */
const MODEL_TEXT_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
];

/**
 * Starts a model folder at `dir` from the model folder `from`: its configs and tokenizer linked (or
 * copied, when the source is itself temporary) and an empty onnx/ for the test's own graph.
 */
export function modelShell(from: string, dir: string, how: 'link' | 'copy' = 'link'): string {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  for (const f of MODEL_TEXT_FILES)
    (how === 'link' ? symlinkSync : copyFileSync)(join(from, f), join(dir, f));
  return dir;
}

/** A temp folder and its remover. */
export interface TempFolder {
  dir: string;
  cleanup(): void;
}

/**
 * Builds a model folder under os.tmpdir(): each entry maps a path inside the folder to a file to
 * symlink, or to `{ text }` written as the file's content.
 */
export function linkFolder(entries: Record<string, string | { text: string }>): TempFolder {
  const dir = mkdtempSync(join(tmpdir(), 'textgen-folder-'));
  for (const [name, source] of Object.entries(entries)) {
    const target = join(dir, name);
    mkdirSync(dirname(target), { recursive: true });
    if (typeof source === 'string') symlinkSync(source, target);
    else writeFileSync(target, source.text);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What one generate() call produced. */
export interface Collected {
  done: Extract<GenerationEvent, { type: 'done' }>;
  /** Token event texts per sequence, in order. */
  deltas: string[][];
  /** Token event ids per sequence (the final flush, id -1, excluded). */
  ids: number[][];
}

/** Runs one generation to the end with greedy decoding unless `layer` says otherwise. */
export async function generateAll(
  generator: TextGenerator,
  prompt: string | string[],
  layer: SettingsLayer = {},
  extra: { addSpecialTokens?: boolean; signal?: AbortSignal; keepCache?: boolean } = {},
): Promise<Collected> {
  const settings = resolveSettings(generator.info.generationDefaults, {
    do_sample: false,
    ...layer,
  });
  const request = Array.isArray(prompt)
    ? { prompt: '', prompts: prompt, settings, ...extra }
    : { prompt, settings, ...extra };
  const deltas: string[][] = [];
  const ids: number[][] = [];
  let done: Collected['done'] | undefined;
  for await (const event of generator.generate(request)) {
    if (event.type === 'token') {
      (deltas[event.sequence] ??= []).push(event.text);
      if (event.id >= 0) (ids[event.sequence] ??= []).push(event.id);
    } else if (event.type === 'done') {
      done = event;
    }
  }
  if (!done) throw new Error('generate() ended without a done event');
  return { done, deltas, ids };
}
