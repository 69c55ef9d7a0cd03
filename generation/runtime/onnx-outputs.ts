/**
 * Reads the graph output names of an ONNX file without loading it: the protobuf is walked field by
 * field and everything else (weights, nodes) is skipped by its length, so a multi-GB model costs a
 * few hundred small reads. The WebGPU session needs the names before it exists: its
 * `preferredOutputLocation` must name each output kept on the GPU, and names it does not know are
 * an error.
 */
import { fields, FileSource, stringOf, Wire } from '../onnx-writer/proto-reader.js';

/** The names of the graph's outputs, in order (ModelProto.graph = 7, GraphProto.output = 12). */
export function onnxOutputNames(path: string): string[] {
  // A small window: the walk jumps over every weight, and each jump refills it.
  const src = new FileSource(path, 64 * 1024);
  try {
    const names: string[] = [];
    for (const model of fields(src, 0, src.size)) {
      if (model.field !== 7 || model.wire !== Wire.bytes) continue;
      for (const g of fields(src, model.valueStart, model.end)) {
        if (g.field !== 12 || g.wire !== Wire.bytes) continue;
        // ValueInfoProto.name = 1.
        for (const v of fields(src, g.valueStart, g.end))
          if (v.field === 1 && v.wire === Wire.bytes) {
            names.push(stringOf(src, v));
            break;
          }
      }
      break;
    }
    return names;
  } finally {
    src.close();
  }
}
