/**
 * Reads the float32 initializers of an ONNX file (raw_data or float_data, inline) back as a
 * {@link WeightSource}, so a graph textgen wrote once (a trained model's optimum export, the embedded
 * default model) can be rebuilt in another form (the fused graph) from exactly the same weights.
 * The fields involved: ModelProto.graph → GraphProto.initializer → TensorProto dims, data_type,
 * name, raw_data, float_data.
 */
import type { WeightSource } from './decoder-common.js';
import { fields, FileSource, packedVarints, stringOf, Wire, type Field } from './proto-reader.js';

/** One float32 initializer. */
export interface StoredWeight {
  dims: number[];
  data: Float32Array;
}

/** Parses one TensorProto; returns undefined for tensors that are not inline float32. */
function tensor(src: FileSource, proto: Field): [string, StoredWeight] | undefined {
  const dims: number[] = [];
  let type = 0;
  let name = '';
  let payload: Field | undefined;
  let external = false;
  for (const f of fields(src, proto.valueStart, proto.end)) {
    if (f.field === 1) dims.push(...packedVarints(src, f));
    else if (f.field === 2) type = f.value;
    else if (f.field === 8) name = stringOf(src, f);
    else if (f.field === 9 || (f.field === 4 && f.wire === Wire.bytes)) payload = f;
    else if (f.field === 14 && f.value === 1) external = true;
  }
  if (type !== 1 || external) return undefined;
  // A fresh copy of the payload: aligned, whatever its offset in the file.
  const bytes = payload
    ? src.read(payload.valueStart, payload.end - payload.valueStart)
    : undefined;
  const data = bytes ? new Float32Array(bytes.buffer, 0, bytes.length / 4) : new Float32Array(0);
  return [name, { dims, data }];
}

/** Every inline float32 initializer of the ONNX file at `path`, by name. */
export function readFloatInitializers(path: string): Map<string, StoredWeight> {
  const src = new FileSource(path);
  const out = new Map<string, StoredWeight>();
  try {
    for (const model of fields(src, 0, src.size)) {
      if (model.field !== 7 || model.wire !== Wire.bytes) continue;
      for (const g of fields(src, model.valueStart, model.end)) {
        if (g.field !== 5 || g.wire !== Wire.bytes) continue;
        const t = tensor(src, g);
        if (t) out.set(t[0], t[1]);
      }
    }
  } finally {
    src.close();
  }
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
