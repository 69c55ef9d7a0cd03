/**
 * `textgen models pull`: fetches the files one dtype of a hub model needs into the shared cache, the
 * way huggingface_hub's snapshot_download lays them out, under a per-repo lock. The snapshot links and
 * the ref are written only after every blob is complete and verified, so a failed pull leaves no
 * half-made snapshot behind (only resumable `.incomplete` blobs).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Dtype, inspectModelFolder } from '../generation/model/model-folder.js';
import { ExitCode, TextgenError, UsageError } from '../common/errors.js';
import {
  isJsonObject,
  type ConfigJson,
  type GenaiConfigJson,
  type JsonObject,
} from '../generation/model/config-json.js';
import {
  fetchFileMetadata,
  fetchRevisionInfo,
  hubConfig,
  isOffline,
  type FileMetadata,
  type HubConfig,
} from './hub-client.js';
import { downloadBlob } from './download.js';
import {
  blobPath,
  hasBlob,
  linkSnapshotFile,
  resolveRevision,
  snapshotDir,
  writeRef,
} from './layout.js';
import { acquireRepoLock } from './lock.js';
import { LOCAL_ORG, repoDir } from './paths.js';
import {
  chooseDtype,
  configFilesOf,
  genaiWeightFiles,
  isSafetensorsCheckpoint,
  SAFETENSORS_INDEX,
  safetensorsShards,
  weightFilesFor,
} from './select-files.js';
import {
  assertRealInside,
  validateHashName,
  validateRepoFilename,
  validateRepoId,
  validateRevision,
} from './validate.js';

/** What a pull reports while it runs (the command turns these into progress output). */
export type PullEvent =
  | { type: 'waiting-for-lock'; pid?: number }
  | { type: 'revision'; commit: string }
  | { type: 'file-start'; file: string; size: number; resumeFrom: number }
  | { type: 'file-progress'; file: string; done: number; size: number }
  | { type: 'file-retry'; file: string; done: number; error: string }
  | { type: 'file-done'; file: string; size: number; fetched: number }
  | { type: 'file-cached'; file: string; size: number };

/** Pull options. */
export interface PullOptions {
  id: string;
  revision?: string;
  dtype?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onEvent?: (event: PullEvent) => void;
}

/** The outcome of a pull. */
export interface PullResult {
  id: string;
  revision: string;
  commit: string;
  dir: string;
  /** Undefined for onnxruntime-genai folders, which have one fixed variant. */
  dtype?: Dtype;
  files: Array<{ file: string; size: number; fetched: number }>;
  fetchedBytes: number;
  /** True when HF_HUB_OFFLINE was set and the cached snapshot was used without asking the hub. */
  offline: boolean;
  /** Set when the files arrived but textgen cannot load the folder (the reason). */
  problem?: string;
}

/** Downloads `id@revision` (files for one dtype) into the hub cache; resolves to where it landed. */
export async function pullModel(options: PullOptions): Promise<PullResult> {
  const env = options.env ?? process.env;
  const id = validateRepoId(options.id);
  if (id.startsWith(`${LOCAL_ORG}/`))
    throw new UsageError(
      `'${id}' names a locally trained model; there is nothing to pull.`,
      'Models under local/ come from `textgen train`.',
    );
  const revision = validateRevision(options.revision ?? 'main');
  const repo = repoDir(id, env);
  if (isOffline(env)) return offlineResult(id, revision, repo);
  const config = hubConfig(env);
  const lock = await acquireRepoLock(id, {
    env,
    signal: options.signal,
    onWait: (pid) => options.onEvent?.({ type: 'waiting-for-lock', pid }),
  });
  try {
    return await pullLocked({ ...options, id, revision, repo, config });
  } finally {
    lock.release();
  }
}

function offlineResult(id: string, revision: string, repo: string): PullResult {
  const commit = resolveRevision(repo, revision);
  if (!commit) {
    throw new TextgenError(
      `Offline mode (HF_HUB_OFFLINE is set): cannot download ${id}@${revision}.`,
      {
        exitCode: ExitCode.network,
        hint: 'Unset HF_HUB_OFFLINE to download, or use a cached model from `textgen models list`.',
      },
    );
  }
  return {
    id,
    revision,
    commit,
    dir: snapshotDir(repo, commit),
    files: [],
    fetchedBytes: 0,
    offline: true,
  };
}

interface Job {
  file: string;
  meta: FileMetadata;
}

async function pullLocked(
  o: PullOptions & { id: string; revision: string; repo: string; config: HubConfig },
): Promise<PullResult> {
  const info = await fetchRevisionInfo(o.config, o.id, o.revision, o.signal);
  const commit = validateHashName('commit hash', info.sha);
  // Every name is checked before anything is written: one hostile name stops the whole pull.
  for (const f of info.files) validateRepoFilename(f);
  // A repo without usable weights, or without the requested dtype, fails before the cache is touched;
  // the listing tells an encoder-decoder export by its encoder file (config.json confirms it below).
  const isGenai = info.files.includes('genai_config.json');
  // A repo with only safetensors weights is pulled as a checkpoint for `textgen convert`.
  const checkpoint = !isGenai && !o.dtype && isSafetensorsCheckpoint(info.files, false);
  if (!isGenai && !checkpoint)
    chooseDtype(
      o.id,
      info.files,
      info.files.some((f) => /(^|\/)encoder_model[^/]*\.onnx$/.test(f)),
      o.dtype,
    );
  o.onEvent?.({ type: 'revision', commit });
  mkdirSync(join(o.repo, 'blobs'), { recursive: true });
  assertRealInside(o.repo, join(o.repo, 'blobs'));
  const head = async (file: string, signal = o.signal): Promise<Job> => {
    const meta = await fetchFileMetadata(o.config, o.id, o.revision, file, signal);
    validateHashName('etag', meta.etag);
    if (meta.commit !== undefined && meta.commit !== commit) {
      throw new TextgenError(
        `${o.id}@${o.revision} moved to commit ${meta.commit} during the pull.`,
        { exitCode: ExitCode.network, hint: 'Run the pull again.' },
      );
    }
    return { file, meta };
  };
  const results: PullResult['files'] = [];
  const jobs = await inParallel(configFilesOf(info.files), PARALLEL_HEADS, o.signal, head);
  results.push(
    ...(await inParallel(jobs, PARALLEL_DOWNLOADS, o.signal, (job, signal) =>
      fetchBlob({ ...o, signal }, job),
    )),
  );
  const configJson: ConfigJson | undefined = readJsonBlob(o.repo, jobs, 'config.json');
  const genai: GenaiConfigJson | undefined = readJsonBlob(o.repo, jobs, 'genai_config.json');
  let dtype: Dtype | undefined;
  let weights: string[];
  if (genai?.model) {
    weights = genaiWeightFiles(info.files, genai);
  } else if (checkpoint) {
    weights = ['model.safetensors'];
    if (info.files.includes(SAFETENSORS_INDEX)) {
      const index = await head(SAFETENSORS_INDEX);
      results.push(await fetchBlob(o, index));
      jobs.push(index);
      weights = safetensorsShards(info.files, readJsonBlob(o.repo, jobs, SAFETENSORS_INDEX)!);
    }
  } else {
    const encoderDecoder = Boolean(configJson?.is_encoder_decoder);
    dtype = chooseDtype(o.id, info.files, encoderDecoder, o.dtype);
    weights = weightFilesFor(info.files, dtype, encoderDecoder);
  }
  const weightJobs = await inParallel(weights, PARALLEL_HEADS, o.signal, head);
  results.push(
    ...(await inParallel(weightJobs, PARALLEL_DOWNLOADS, o.signal, (job, signal) =>
      fetchBlob({ ...o, signal }, job),
    )),
  );
  for (const job of [...jobs, ...weightJobs])
    linkSnapshotFile(o.repo, commit, job.file, job.meta.etag);
  if (o.revision !== commit) writeRef(o.repo, o.revision, commit);
  const dir = snapshotDir(o.repo, commit);
  const problem = checkpoint
    ? `a safetensors checkpoint: convert it with \`textgen convert ${o.id} --dtype q4\` (or fp32, fp16, q8)`
    : usabilityProblem(dir);
  return {
    id: o.id,
    revision: o.revision,
    commit,
    dir,
    dtype,
    files: results,
    fetchedBytes: results.reduce((a, r) => a + r.fetched, 0),
    offline: false,
    problem,
  };
}

/** Files whose metadata is asked for at once. */
const PARALLEL_HEADS = 8;
/** Blobs downloaded at once (huggingface_hub's snapshot_download uses 8 workers; shards are big). */
const PARALLEL_DOWNLOADS = 4;

/**
 * Runs `work` over `items`, at most `limit` at a time, results in input order. The first failure
 * aborts the rest (their own signal), and every task has settled before it is rethrown, so nothing
 * still writes into the cache once the pull has failed and released its lock.
 */
export async function inParallel<T, R>(
  items: T[],
  limit: number,
  outer: AbortSignal | undefined,
  work: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const stop = new AbortController();
  const signal = outer ? AbortSignal.any([outer, stop.signal]) : stop.signal;
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i], signal);
      } catch (error) {
        failure ??= { error };
        stop.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** Why a pulled folder cannot be loaded (e.g. a repo without tokenizer.json), or undefined. */
function usabilityProblem(dir: string): string | undefined {
  try {
    inspectModelFolder(dir);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

async function fetchBlob(
  o: PullOptions & { id: string; repo: string; config: HubConfig },
  job: Job,
): Promise<PullResult['files'][number]> {
  const { file, meta } = job;
  if (hasBlob(o.repo, meta.etag, meta.size)) {
    o.onEvent?.({ type: 'file-cached', file, size: meta.size });
    return { file, size: meta.size, fetched: 0 };
  }
  let started = false;
  const fetched = await downloadBlob({
    config: o.config,
    url: meta.location,
    blob: blobPath(o.repo, meta.etag),
    etag: meta.etag,
    size: meta.size,
    id: o.id,
    file,
    signal: o.signal,
    onProgress: (done) => {
      if (!started) {
        started = true;
        o.onEvent?.({ type: 'file-start', file, size: meta.size, resumeFrom: done });
      }
      o.onEvent?.({ type: 'file-progress', file, done, size: meta.size });
    },
    onRetry: (done, error) => o.onEvent?.({ type: 'file-retry', file, done, error: error.message }),
  });
  o.onEvent?.({ type: 'file-done', file, size: meta.size, fetched });
  return { file, size: meta.size, fetched };
}

function readJsonBlob(repo: string, jobs: Job[], file: string): JsonObject | undefined {
  const job = jobs.find((j) => j.file === file);
  if (!job) return undefined;
  try {
    const value: unknown = JSON.parse(readFileSync(blobPath(repo, job.meta.etag), 'utf8'));
    if (!isJsonObject(value)) throw new Error('not a JSON object');
    return value;
  } catch (error) {
    throw new TextgenError(`${file} of the pulled model is not valid JSON.`, {
      exitCode: ExitCode.model,
      hint: 'The repo is broken at this revision; try another revision.',
      cause: error,
    });
  }
}
