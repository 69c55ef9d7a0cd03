/**
 * Checks a rewritten ONNX file against its source (`textgen quantize`): the I/O signature (names,
 * element types, symbolic shapes) must be identical, and one synthetic decode step — a single new
 * token over a `context`-long cache, its inputs built from the session's own input metadata — is timed
 * on both, interleaved, so the caller can warn when the variant is not faster.
 */
import { ModelError } from '../errors.js';
import { ort, type Session } from './ort.js';

/** One input or output as the session declares it. */
export interface IoEntry {
  name: string;
  type: string;
  shape: Array<number | string>;
}

/** A session's inputs and outputs. */
export interface IoSignature {
  inputs: IoEntry[];
  outputs: IoEntry[];
}

async function open(path: string, threads: number): Promise<Session> {
  try {
    return await ort.InferenceSession.create(path, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: process.env.TEXTGEN_DEBUG ? 2 : 4,
    });
  } catch (error) {
    throw new ModelError(
      `onnxruntime cannot load ${path}: ${(error as Error).message.split('\n')[0]}`,
      'The written variant is broken; please report this with the model folder.',
      error,
    );
  }
}

function entries(meta: readonly ort.InferenceSession.ValueMetadata[]): IoEntry[] {
  return meta.map((m) =>
    m.isTensor
      ? { name: m.name, type: String(m.type), shape: [...m.shape] }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

/** The I/O signature of an ONNX file. */
export async function ioSignature(path: string): Promise<IoSignature> {
  const session = await open(path, 1);
  try {
    return { inputs: entries(session.inputMetadata), outputs: entries(session.outputMetadata) };
  } finally {
    await session.release();
  }
}

/** Differences between two signatures, one line each (empty when they match). */
export function signatureDiff(a: IoSignature, b: IoSignature): string[] {
  const out: string[] = [];
  const side = (kind: 'inputs' | 'outputs') => {
    const key = (e: IoEntry) => `${e.name}: ${e.type} [${e.shape.join(', ')}]`;
    const left = a[kind].map(key);
    const right = b[kind].map(key);
    for (const l of left) if (!right.includes(l)) out.push(`${kind}: source ${l} missing`);
    for (const r of right) if (!left.includes(r)) out.push(`${kind}: variant has ${r}`);
  };
  side('inputs');
  side('outputs');
  return out;
}

/** The shape of a synthetic step: `past` cached positions and `fresh` new tokens. */
export interface StepShape {
  past: number;
  fresh: number;
}

/** The size a symbolic dimension gets in the synthetic step. */
function dimSize(dim: number | string, name: string, step: StepShape): number {
  if (typeof dim === 'number' && dim >= 0) return dim;
  const d = String(dim).toLowerCase();
  if (d.includes('+') || d.includes('total')) return step.past + step.fresh;
  if (d.includes('past')) return step.past;
  if (d.includes('encoder')) return 16;
  if (name === 'attention_mask' && d.includes('sequence')) return step.past + step.fresh;
  if (d.includes('batch')) return 1;
  return step.fresh;
}

/**
 * Inputs for one step built from the session's input metadata: ids 0, masks 1, positions counting
 * from `past`, past key/values and other floats a fixed pattern, `use_cache_branch` true.
 */
export function syntheticFeeds(session: Session, step: StepShape): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    if (!m.isTensor) throw new ModelError(`input ${m.name} is not a tensor`);
    const dims = m.shape.map((d) => dimSize(d, m.name, step));
    const count = dims.reduce((x, y) => x * y, 1);
    const position = (i: number) => step.past + (i % Math.max(1, dims[dims.length - 1] ?? 1));
    if (m.type === 'int64' || m.type === 'int32') {
      const values = Array.from({ length: count }, (_, i) =>
        m.name.includes('mask') ? 1 : m.name.includes('position') ? position(i) : 0,
      );
      feeds[m.name] =
        m.type === 'int64'
          ? new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims)
          : new ort.Tensor('int32', Int32Array.from(values), dims);
    } else if (m.type === 'bool') {
      feeds[m.name] = new ort.Tensor('bool', new Uint8Array(count).fill(1), dims);
    } else if (m.type === 'float32') {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = Math.sin(i * 0.37) * 0.5;
      feeds[m.name] = new ort.Tensor('float32', data, dims);
    } else
      throw new ModelError(`input ${m.name} has type ${m.type}, which the timing step cannot feed`);
  }
  return feeds;
}

/**
 * Times one step of each file (same synthetic inputs; default one new token over a 128-long cache),
 * interleaved `repeats` times after a warm-up; returns the milliseconds of every repeat, per file.
 */
export async function timeSteps(
  paths: string[],
  options: { step?: StepShape; repeats?: number; threads?: number } = {},
): Promise<number[][]> {
  const step = options.step ?? { past: 128, fresh: 1 };
  const sessions: Session[] = [];
  try {
    for (const p of paths) sessions.push(await open(p, options.threads ?? 1));
    const feeds = sessions.map((s) => syntheticFeeds(s, step));
    const times = paths.map(() => [] as number[]);
    for (let i = 0; i < sessions.length; i++) await sessions[i].run(feeds[i]);
    for (let r = 0; r < (options.repeats ?? 5); r++)
      for (let i = 0; i < sessions.length; i++) {
        const t = performance.now();
        await sessions[i].run(feeds[i]);
        times[i].push(performance.now() - t);
      }
    return times;
  } finally {
    for (const s of sessions) await s.release();
  }
}
