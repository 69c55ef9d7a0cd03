/**
 * Reads a session's input and output names and types instead of assuming them, and pairs each past
 * input with its present output (optimum `past_key_values.N.key` → `present.N.key`, genai `past_N` →
 * `present_N`, encoder-decoder `past_key_values.N.decoder.key` → `present.N.decoder.key`).
 */
import { ModelError } from '../errors.js';
import type { KvEntrySpec } from './kv-cache.js';
import type { ElementType, Session } from './ort.js';

/** One named tensor input or output with its element type and symbolic shape. */
export interface IoInfo {
  name: string;
  type: ElementType;
  shape: Array<number | string>;
}

/** The inputs and outputs of a session, by name. */
export interface SessionIo {
  inputs: Map<string, IoInfo>;
  outputs: Map<string, IoInfo>;
}

/** Collects the session's metadata. */
export function sessionIo(session: Session): SessionIo {
  const collect = (list: Session['inputMetadata']) =>
    new Map<string, IoInfo>(
      list
        .filter((m) => m.isTensor)
        // Other element types (string, uint8 ...) are not fed by textgen; the feeds reject them.
        .map((m) => [m.name, { name: m.name, type: m.type as ElementType, shape: [...m.shape] }]),
    );
  return { inputs: collect(session.inputMetadata), outputs: collect(session.outputMetadata) };
}

/** The present output name that corresponds to a past input name. */
export function presentNameFor(pastName: string, outputs: Map<string, IoInfo>): string | undefined {
  const candidates = [
    pastName.replace(/^past_key_values/, 'present'),
    pastName.replace(/^past_key_values/, 'present_key_values'),
    pastName.replace(/^past/, 'present'),
  ];
  return candidates.find((c) => outputs.has(c));
}

/** Whether an input name is a KV-cache input. */
export function isPastInput(name: string): boolean {
  return /^past(_key_values)?[._]/.test(name);
}

/** Fallback shape facts from config.json for symbolic head dims. */
export interface KvShapeHints {
  heads?: number;
  headDim?: number;
}

/**
 * Builds the KV entry specs for the given past inputs, reading heads and head size from the shape
 * [...lead, batch, heads, seq, headDim] and falling back to the config hints when they are symbolic.
 */
export function kvSpecs(io: SessionIo, pastNames: string[], hints: KvShapeHints): KvEntrySpec[] {
  return pastNames.map((input) => {
    const info = io.inputs.get(input)!;
    const output = presentNameFor(input, io.outputs);
    if (!output)
      throw new ModelError(
        `The model has a cache input ${input} but no matching present output.`,
        'The ONNX export is incomplete; re-export with past key values.',
      );
    if (info.type !== 'float32' && info.type !== 'float16')
      throw new ModelError(
        `Unsupported cache type ${info.type} for ${input}.`,
        'textgen supports float32 and float16 KV caches.',
      );
    const shape = info.shape;
    const batchAt = shape.findIndex((d) => typeof d === 'string' && /batch/i.test(d));
    const at = batchAt >= 0 ? batchAt : shape.length - 4;
    const lead = shape.slice(0, at).map((d) => (typeof d === 'number' ? d : 2));
    const heads = typeof shape[at + 1] === 'number' ? (shape[at + 1] as number) : hints.heads;
    const headDim = typeof shape[at + 3] === 'number' ? (shape[at + 3] as number) : hints.headDim;
    if (!heads || !headDim)
      throw new ModelError(
        `Cannot tell the head count and size of ${input} (shape ${JSON.stringify(shape)}).`,
        'Add num_key_value_heads and head_dim to config.json.',
      );
    return { input, output, lead, heads, headDim, type: info.type };
  });
}
