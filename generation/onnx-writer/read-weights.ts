/**
 * Reads the float32 initializers of an ONNX file (raw_data or float_data, inline) back as a
 * {@link WeightSource}, so a graph textgen wrote once (a trained model's optimum export, the embedded
 * default model) can be rebuilt in another form (the fused graph) from exactly the same weights.
 * A small protobuf reader for the few fields involved: ModelProto.graph → GraphProto.initializer →
 * TensorProto dims, data_type, name, raw_data, float_data.
 */
import { readFileSync } from 'node:fs';
import type { WeightSource } from './decoder-common.js';

/** One float32 initializer. */
export interface StoredWeight {
  dims: number[];
  data: Float32Array;
}

/** Calls `field(number, wire, start, end)` for each field of the message in bytes[start, end). */
function fields(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: (n: number, wire: number, from: number, to: number, value: number) => void,
): void {
  let at = start;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[at++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  while (at < end) {
    const key = varint();
    const n = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) field(n, wire, at, at, varint());
    else if (wire === 2) {
      const length = varint();
      field(n, wire, at, at + length, length);
      at += length;
    } else if (wire === 5) at += 4;
    else if (wire === 1) at += 8;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

/** Parses one TensorProto; returns undefined for tensors that are not inline float32. */
function tensor(bytes: Uint8Array, start: number, end: number): [string, StoredWeight] | undefined {
  const dims: number[] = [];
  let type = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  let floats: Uint8Array | undefined;
  let external = false;
  fields(bytes, start, end, (n, wire, from, to, value) => {
    if (n === 1 && wire === 0) dims.push(value);
    else if (n === 1) dims.push(...packedVarints(bytes, from, to));
    else if (n === 2) type = value;
    else if (n === 8) name = new TextDecoder().decode(bytes.subarray(from, to));
    else if (n === 9) raw = bytes.subarray(from, to);
    else if (n === 4 && wire === 2) floats = bytes.subarray(from, to);
    else if (n === 14 && value === 1) external = true;
  });
  if (type !== 1 || external) return undefined;
  const source = raw ?? floats ?? new Uint8Array(0);
  // Copy into an aligned buffer: the file's bytes sit at arbitrary offsets.
  const data = new Float32Array(source.length / 4);
  new Uint8Array(data.buffer).set(source);
  return [name, { dims, data }];
}

function packedVarints(bytes: Uint8Array, from: number, to: number): number[] {
  const out: number[] = [];
  let value = 0;
  let scale = 1;
  for (let at = from; at < to; at++) {
    value += (bytes[at] & 0x7f) * scale;
    scale *= 128;
    if (bytes[at] < 0x80) {
      out.push(value);
      value = 0;
      scale = 1;
    }
  }
  return out;
}

/** Every inline float32 initializer of the ONNX file at `path`, by name. */
export function readFloatInitializers(path: string): Map<string, StoredWeight> {
  const bytes = new Uint8Array(readFileSync(path));
  const out = new Map<string, StoredWeight>();
  fields(bytes, 0, bytes.length, (n, wire, from, to) => {
    if (n !== 7 || wire !== 2) return;
    fields(bytes, from, to, (g, gWire, gFrom, gTo) => {
      if (g !== 5 || gWire !== 2) return;
      const t = tensor(bytes, gFrom, gTo);
      if (t) out.set(t[0], t[1]);
    });
  });
  return out;
}

/** A WeightSource over stored initializers, checking each requested shape. */
export function storedWeights(weights: Map<string, StoredWeight>): WeightSource {
  return (name, dims) => {
    const w = weights.get(name);
    if (!w) throw new Error(`the ONNX file has no float32 initializer ${name}`);
    if (w.dims.length !== dims.length || w.dims.some((d, i) => d !== dims[i]))
      throw new Error(`${name} is [${w.dims}] in the ONNX file, expected [${dims}]`);
    return w.data;
  };
}
