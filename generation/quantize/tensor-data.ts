/**
 * Where a source initializer's bytes are, inline in the model file or in an external data file
 * (`model.onnx_data`, located relative to the model), checked for truncation before anything is
 * written, and read one weight at a time.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { ModelError } from '../errors.js';
import { elementCount, OnnxType, type TensorRef } from './onnx-index.js';
import { FileSource } from '../onnx-writer/proto-reader.js';

/** Bytes per element of the types whose data is read or copied here. */
const ELEMENT_BYTES: Record<number, number> = {
  [OnnxType.float]: 4,
  [OnnxType.uint8]: 1,
  [OnnxType.int8]: 1,
  [OnnxType.int32]: 4,
  [OnnxType.int64]: 8,
  [OnnxType.bool]: 1,
  [OnnxType.float16]: 2,
};

/** Opens the model's external data files on demand and reads tensor payloads. */
export class TensorData {
  private readonly external = new Map<string, FileSource>();

  constructor(readonly model: FileSource) {}

  /** The file and byte range holding `t`'s data (raw little-endian values). */
  location(t: TensorRef): { src: FileSource; start: number; end: number } {
    const d = t.data;
    if (d.kind === 'raw' || d.kind === 'float-list') return { src: this.model, ...d };
    if (d.kind !== 'external') throw new Error(`internal: ${t.name} has no readable data`);
    let src = this.external.get(d.path);
    if (!src) {
      if (!existsSync(d.path))
        throw new ModelError(
          `${basename(this.model.path)}: external data ${d.path} of ${t.name} is missing.`,
          'Re-download the model (the .onnx_data file must sit next to the .onnx file).',
        );
      src = new FileSource(d.path);
      this.external.set(d.path, src);
    }
    if (d.offset + d.length > src.size)
      throw new ModelError(
        `${basename(this.model.path)}: external data of ${t.name} ends at byte ${d.offset + d.length} but ${basename(d.path)} has ${src.size} (truncated).`,
        'Re-download the model; its external data file is incomplete.',
      );
    return { src, start: d.offset, end: d.offset + d.length };
  }

  /** Throws ModelError when `t`'s data is missing, truncated or of the wrong size. */
  check(t: TensorRef): void {
    const { start, end } = this.location(t);
    const expected = elementCount(t.dims) * (ELEMENT_BYTES[t.dataType] ?? 0);
    if (expected && end - start !== expected)
      throw new ModelError(
        `${basename(this.model.path)}: ${t.name} holds ${end - start} bytes, its shape needs ${expected}.`,
        'The model file is corrupt or truncated; re-download it.',
      );
  }

  /** Reads an fp32 tensor into a new array. */
  float32(t: TensorRef): Float32Array {
    const { src, start, end } = this.location(t);
    const bytes = src.read(start, end - start);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }

  /** Closes the external data files. */
  close(): void {
    for (const src of this.external.values()) src.close();
    this.external.clear();
  }
}
