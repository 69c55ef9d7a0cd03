/**
 * A reader for the safetensors format: an 8-byte little-endian header length, a JSON header naming
 * each tensor's dtype, shape and byte range, then the raw little-endian data. The header is checked
 * in full when the file is opened (ranges inside the file, sizes matching shapes, no overlaps), so a
 * truncated or inconsistent file fails before anything is converted; tensors are read one at a time,
 * on demand, and widened to float32 (bf16 exactly, f16 exactly).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { bfloat16ToFloat32, float16ToFloat32 } from '../../common/float16.js';
import { ModelError } from '../errors.js';

/** Bytes per element of every dtype the format defines. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The dtypes a checkpoint's weights may have. */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** The safetensors header limits headers to 100 MB; anything larger is not a safetensors file. */
const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header, with its absolute byte range in the file. */
export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute file offset of the first byte. */
  start: number;
  byteLength: number;
}

function fail(path: string, problem: string): never {
  throw new ModelError(
    `${basename(path)} is not a valid safetensors file: ${problem}.`,
    'Re-download the checkpoint (`textgen models pull ID`), or check the file was copied completely.',
  );
}

function readExact(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function parseEntry(path: string, name: string, value: unknown, dataStart: number): TensorEntry {
  const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof v !== 'object' || v === null) fail(path, `entry ${name} is not an object`);
  if (typeof v.dtype !== 'string' || !(v.dtype in DTYPE_BYTES))
    fail(path, `tensor ${name} has unknown dtype ${JSON.stringify(v.dtype)}`);
  const ints = (x: unknown): x is number[] =>
    Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!ints(v.shape)) fail(path, `tensor ${name} has a malformed shape`);
  if (!ints(v.data_offsets) || v.data_offsets.length !== 2 || v.data_offsets[0] > v.data_offsets[1])
    fail(path, `tensor ${name} has malformed data_offsets`);
  const [begin, end] = v.data_offsets;
  const elements = v.shape.reduce((a, b) => a * b, 1);
  if (elements * DTYPE_BYTES[v.dtype] !== end - begin)
    fail(
      path,
      `tensor ${name} is ${v.dtype} [${v.shape.join(', ')}] (${elements * DTYPE_BYTES[v.dtype]} bytes) but its data_offsets span ${end - begin} bytes`,
    );
  return {
    name,
    dtype: v.dtype,
    shape: v.shape,
    start: dataStart + begin,
    byteLength: end - begin,
  };
}

/** An open safetensors file: its validated header and on-demand tensor reads. */
export class SafetensorsFile {
  readonly tensors = new Map<string, TensorEntry>();
  readonly metadata: Record<string, string> = {};
  private readonly fd: number;

  /** Opens and validates `path`; throws ModelError naming the file and the first problem found. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.readHeader();
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  private readHeader(): void {
    const size = fstatSync(this.fd).size;
    const prefix = new Uint8Array(8);
    if (size < 8 || readExact(this.fd, prefix, 0) < 8)
      fail(this.path, `the file is ${size} bytes, too short for a header`);
    const headerBytes = Number(new DataView(prefix.buffer).getBigUint64(0, true));
    if (headerBytes > MAX_HEADER_BYTES) fail(this.path, `the header claims ${headerBytes} bytes`);
    if (8 + headerBytes > size)
      fail(this.path, `truncated: the header needs ${headerBytes} bytes, the file has ${size - 8}`);
    const raw = new Uint8Array(headerBytes);
    readExact(this.fd, raw, 8);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch (error) {
      fail(this.path, `the header is not JSON (${(error as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header))
      fail(this.path, 'the header is not a JSON object');
    const dataStart = 8 + headerBytes;
    const dataBytes = size - dataStart;
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (typeof value === 'object' && value !== null) Object.assign(this.metadata, value);
        continue;
      }
      const entry = parseEntry(this.path, name, value, dataStart);
      if (entry.start + entry.byteLength > size)
        fail(
          this.path,
          `truncated: tensor ${name} ends at byte ${entry.start - dataStart + entry.byteLength} of the data, which has ${dataBytes}`,
        );
      this.tensors.set(name, entry);
    }
    const sorted = [...this.tensors.values()].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i].start < sorted[i - 1].start + sorted[i - 1].byteLength)
        fail(this.path, `tensors ${sorted[i - 1].name} and ${sorted[i].name} overlap`);
  }

  /** Reads tensor `name` as float32 (F32, F16 or BF16; other dtypes are a ModelError naming it). */
  readFloat32(name: string): Float32Array {
    const entry = this.tensors.get(name);
    if (!entry) throw new ModelError(`${basename(this.path)} has no tensor ${name}.`);
    const count = entry.byteLength / DTYPE_BYTES[entry.dtype];
    if (entry.dtype === 'F32') {
      const out = new Float32Array(count);
      this.readInto(entry, new Uint8Array(out.buffer));
      return out;
    }
    if (entry.dtype !== 'F16' && entry.dtype !== 'BF16') throw unsupportedDtype(this.path, entry);
    const half = new Uint16Array(count);
    this.readInto(entry, new Uint8Array(half.buffer));
    return entry.dtype === 'BF16' ? bfloat16ToFloat32(half) : float16ToFloat32(half);
  }

  private readInto(entry: TensorEntry, into: Uint8Array): void {
    const got = readExact(this.fd, into, entry.start);
    if (got !== entry.byteLength)
      fail(
        this.path,
        `truncated while reading ${entry.name} (${got} of ${entry.byteLength} bytes)`,
      );
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.fd);
  }
}

/** The error for a weight stored in a dtype the converter does not read. */
export function unsupportedDtype(path: string, entry: TensorEntry): ModelError {
  return new ModelError(
    `Tensor ${entry.name} in ${basename(path)} is ${entry.dtype}; textgen convert reads F32, F16 and BF16 weights.`,
    'Quantized checkpoints (int8, fp8, GPTQ/AWQ) cannot be converted: use the original float checkpoint.',
  );
}
