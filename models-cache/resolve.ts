/**
 * Turns what a user typed into a model folder, without touching the network: a folder path, `org/name`,
 * `org/name@revision`, `local/NAME`, the configured default, else the model shipped in the package.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, ModelError, TextgenError, UsageError } from '../common/errors.js';
import { foreignFileError } from '../generation/model/foreign-format.js';
import { DTYPE_SUFFIXES, type Dtype } from '../generation/model/model-folder.js';
import { LOCAL_ORG, LOCAL_REVISION, repoDir } from './paths.js';
import { resolveRevision, snapshotDir } from './layout.js';
import { validateRepoId, validateRevision } from './validate.js';

/** A model that was asked for but is not on disk; the hint names the command that gets it. */
export class ModelNotFoundError extends TextgenError {
  constructor(
    message: string,
    hint: string,
    /** The hub model that could be pulled (absent for folders and trained models). */
    readonly pullable?: ModelRef,
  ) {
    super(message, { exitCode: ExitCode.notFound, hint });
  }
}

/** A resolved model: the folder to load and how to name it. */
export interface ResolvedModel {
  dir: string;
  /** The weights variant the user pointed at (`-m onnx/model_q4.onnx` → q4). */
  dtype?: string;
  /** `org/name`, `local/NAME`, `default`, or the folder path as given. */
  id: string;
  /** The commit hash of the cached snapshot (`local` for trained models); absent for folders. */
  revision?: string;
}

/** A parsed `org/name[@revision]`. */
export interface ModelRef {
  id: string;
  revision?: string;
}

/** Splits `org/name@rev` and validates both parts (UsageError when malformed). */
export function parseModelRef(spec: string): ModelRef {
  const at = spec.indexOf('@');
  const id = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? undefined : spec.slice(at + 1);
  validateRepoId(id);
  if (revision !== undefined) validateRevision(revision);
  return { id, revision };
}

/** Whether a spec is meant as a path rather than a repo id. */
function looksLikePath(spec: string): boolean {
  const name = spec.split('@')[0];
  return (
    spec.startsWith('/') ||
    spec.startsWith('.') ||
    spec.startsWith('~') ||
    spec.includes('\\') ||
    name.split('/').length > 2
  );
}

function expandHome(spec: string): string {
  return spec === '~' || spec.startsWith('~/') ? join(homedir(), spec.slice(1)) : spec;
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** The ONNX file names a folder layout uses, with the dtype their suffix names. */
const LAYOUT_FILE = new RegExp(
  `^(?:model|decoder_model_merged|decoder_model|decoder_with_past_model|encoder_model|textgen_decoder)(${Object.values(
    DTYPE_SUFFIXES,
  )
    .filter(Boolean)
    .join('|')})?\\.onnx$`,
);

/**
 * `--model` naming a file: an ONNX file of a model folder loads that folder (and that file's weights
 * variant); a config or tokenizer file loads its folder; GGUF and checkpoint files say what they are.
 */
function resolveFile(path: string): ResolvedModel {
  const foreign = foreignFileError(path);
  if (foreign) throw foreign;
  const name = basename(path);
  const parent = dirname(path);
  const folder = basename(parent) === 'onnx' ? dirname(parent) : parent;
  if (name.endsWith('.json')) return { dir: folder, id: folder };
  if (!name.endsWith('.onnx'))
    throw new ModelError(
      `${path} is a file; --model takes a model folder (or its ONNX file).`,
      `Pass the folder: --model ${folder}.`,
    );
  const m = LAYOUT_FILE.exec(name);
  const genai = existsSync(join(folder, 'genai_config.json'));
  if (!m && !genai)
    throw new ModelError(
      `${path} is not a file of textgen's model layouts (onnx/model{_fp16,_q4,...}.onnx, decoder_model_merged*.onnx, ...), so its folder ${folder} would not load it.`,
      `Rename it to onnx/model.onnx in a folder with config.json and tokenizer.json, then pass --model ${folder}.`,
    );
  const suffix = m?.[1] ?? '';
  const dtype = (Object.keys(DTYPE_SUFFIXES) as Dtype[]).find((d) => DTYPE_SUFFIXES[d] === suffix);
  return { dir: folder, id: folder, ...(m && dtype ? { dtype } : {}) };
}

/** The folder that holds textgen's package.json (works from dist/ and from the TypeScript sources). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        // Ours is the package that provides the `textgen` command (npm name: textgen-onnx).
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { bin?: { textgen?: string } }).bin?.textgen)
          return dir;
      } catch {
        // an unreadable package.json above us is not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return resolve(dirname(fileURLToPath(import.meta.url)), '..');
    dir = parent;
  }
}

/** The name the built-in model goes by in sessions, configs and `--model`. */
export const EMBEDDED_ID = 'default';

/** The model shipped inside the package (`<package root>/models/default`). */
export function embeddedModelDir(): string {
  return join(packageRoot(), 'models', 'default');
}

/** The `textgen models pull` command that fetches a ref (with the weights variant asked for). */
export function pullCommandFor(ref: ModelRef, dtype?: string): string {
  const variant = dtype && dtype !== 'auto' ? ` --dtype ${dtype}` : '';
  return `textgen models pull ${ref.id}${ref.revision ? `@${ref.revision}` : ''}${variant}`;
}

/** Finds a cached snapshot for `org/name[@revision]`; throws ModelNotFoundError naming the pull command. */
export function resolveCached(
  ref: ModelRef,
  env: NodeJS.ProcessEnv = process.env,
  dtype?: string,
): ResolvedModel {
  const repo = repoDir(ref.id, env);
  const isLocal = ref.id.startsWith(`${LOCAL_ORG}/`);
  const revision = ref.revision ?? 'main';
  let commit = resolveRevision(repo, revision);
  // A trained model whose refs/main was not written yet still has its snapshot under snapshots/local.
  if (!commit && isLocal && !ref.revision && isDir(snapshotDir(repo, LOCAL_REVISION)))
    commit = LOCAL_REVISION;
  if (!commit) {
    if (isLocal) {
      throw new ModelNotFoundError(
        `No trained model ${ref.id} in the cache (${repo}).`,
        `Train it with \`textgen train\`, or see \`textgen models list\`.`,
      );
    }
    const what = ref.revision ? `${ref.id} at revision ${ref.revision}` : ref.id;
    throw new ModelNotFoundError(
      `Model ${what} is not in the cache (${repo}).`,
      `Download it with \`${pullCommandFor(ref, dtype)}\`, or add --pull to download it now.`,
      ref,
    );
  }
  return { dir: snapshotDir(repo, commit), id: ref.id, revision: commit };
}

/**
 * Resolves a model spec offline: an existing folder, `org/name[@revision]` or `local/NAME` from the
 * cache, else (no spec) the configured default, else the embedded default model.
 */
export function resolveModel(
  spec: string | undefined,
  options: { env?: NodeJS.ProcessEnv; configuredDefault?: string; dtype?: string } = {},
): ResolvedModel {
  const env = options.env ?? process.env;
  const chosen = spec?.trim() || options.configuredDefault?.trim();
  // `default` names the built-in model (a saved session or `-m default` refers to it that way),
  // unless a folder of that name is where the user stands.
  if (!chosen || (chosen === EMBEDDED_ID && !isDir(resolve(chosen)))) {
    const dir = embeddedModelDir();
    if (isDir(dir)) return { dir, id: EMBEDDED_ID };
    throw new ModelNotFoundError(
      'No model given and the built-in default model is not installed.',
      'Pass --model with a folder or an org/name (see `textgen models list`), or pull one with `textgen models pull ORG/NAME`.',
    );
  }
  const path = resolve(expandHome(chosen));
  if (isDir(path)) return { dir: path, id: chosen };
  if (isFile(path)) return resolveFile(path);
  if (looksLikePath(chosen)) {
    // A path to a file names the file, so the message says which one is missing.
    const what = /\.(onnx|gguf|safetensors|bin)$/i.test(path) ? 'Model file' : 'Model folder';
    throw new ModelNotFoundError(
      `${what} not found: ${path}.`,
      'Pass --model with an existing folder or an org/name from `textgen models list`.',
    );
  }
  let ref: ModelRef;
  try {
    ref = parseModelRef(chosen);
  } catch (error) {
    if (error instanceof UsageError) {
      throw new ModelNotFoundError(
        `'${chosen}' is neither a model folder nor a model id.`,
        'Pass a folder path or an org/name[@revision] (see `textgen models list`).',
      );
    }
    throw error;
  }
  return resolveCached(ref, env, options.dtype);
}
