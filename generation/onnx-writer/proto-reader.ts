/**
 * The one protobuf reader (the quantizer's index, the runtime's output names, the compatibility
 * checks' graph summary, the fused rebuild's weights): a streaming reader over a file: fields are walked by position through a small read window,
 * so a 500 MB ONNX file is indexed without loading it; payloads are read only when asked for (a node's
 * strings, one weight at a time). Positions are file offsets, so any field can later be copied to the
 * output byte for byte.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Protobuf wire types. */
export const Wire = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

/** One field of a message: where it starts (its tag), where its value lies, and varint values. */
export interface Field {
  field: number;
  wire: number;
  /** Offset of the tag: [start, end) is the whole field as encoded. */
  start: number;
  /** Offset of the payload (after the length prefix for wire type 2). */
  valueStart: number;
  end: number;
  /** The value of a varint field (exact up to 2^53; larger ones are only ever copied). */
  value: number;
}

/**
 * Random-access reads from a file through a window for the small reads of field walking (1 MiB by
 * default; a reader that only skims headers between large payloads asks for a smaller one, since
 * each jump past a payload refills it).
 */
export class FileSource {
  readonly size: number;
  private readonly fd: number;
  private window = new Uint8Array(0);
  private windowStart = 0;

  constructor(
    readonly path: string,
    private readonly windowSize = 1 << 20,
  ) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  /** Copies [pos, pos+len) into a new buffer (throws RangeError past the end of the file). */
  read(pos: number, len: number): Uint8Array {
    if (pos < 0 || pos + len > this.size)
      throw new RangeError(`read past the end of ${this.path} (${pos}+${len} > ${this.size})`);
    if (pos >= this.windowStart && pos + len <= this.windowStart + this.window.length)
      return this.window.slice(pos - this.windowStart, pos - this.windowStart + len);
    const out = new Uint8Array(len);
    this.fill(out, pos);
    return out;
  }

  /** One byte, through the window. */
  byte(pos: number): number {
    if (pos < this.windowStart || pos >= this.windowStart + this.window.length) {
      if (pos >= this.size) throw new RangeError(`read past the end of ${this.path}`);
      const len = Math.min(this.windowSize, this.size - pos);
      this.window = new Uint8Array(len);
      this.windowStart = pos;
      this.fill(this.window, pos);
    }
    return this.window[pos - this.windowStart];
  }

  /** Reads into `out` from `pos` (the whole buffer). */
  fill(out: Uint8Array, pos: number): void {
    let done = 0;
    while (done < out.length) {
      const n = readSync(this.fd, out, done, out.length - done, pos + done);
      if (n === 0) throw new RangeError(`unexpected end of ${this.path}`);
      done += n;
    }
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Reads a varint at `pos`; returns its value and the position after it. Values of eight bytes or
 * more are decoded as two's-complement int64 (negative attributes such as axis -1 take ten bytes).
 */
export function readVarint(src: FileSource, pos: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = src.byte(pos + i);
    if (i === 7) return readLongVarint(src, pos);
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  throw new RangeError(`malformed varint at offset ${pos} of ${src.path}`);
}

function readLongVarint(src: FileSource, pos: number): { value: number; next: number } {
  let big = BigInt(0);
  for (let i = 0; i < 10; i++) {
    const b = src.byte(pos + i);
    big |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return { value: Number(BigInt.asIntN(64, big)), next: pos + i + 1 };
  }
  throw new RangeError(`malformed varint at offset ${pos} of ${src.path}`);
}

/** Walks the fields of the message occupying [start, end). */
export function* fields(src: FileSource, start: number, end: number): Generator<Field> {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(src, pos);
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    let valueStart = tag.next;
    let next: number;
    let value = 0;
    if (wire === Wire.varint) {
      const v = readVarint(src, tag.next);
      value = v.value;
      next = v.next;
    } else if (wire === Wire.bytes) {
      const len = readVarint(src, tag.next);
      valueStart = len.next;
      next = len.next + len.value;
    } else if (wire === Wire.fixed64) next = tag.next + 8;
    else if (wire === Wire.fixed32) next = tag.next + 4;
    else throw new RangeError(`unsupported wire type ${wire} at offset ${pos} of ${src.path}`);
    if (next > end || field === 0)
      throw new RangeError(`malformed protobuf field at offset ${pos} of ${src.path}`);
    yield { field, wire, start: pos, valueStart, end: next, value };
    pos = next;
  }
}

const decoder = new TextDecoder();

/** The UTF-8 string payload of a wire-type-2 field. */
export function stringOf(src: FileSource, f: Field): string {
  return decoder.decode(src.read(f.valueStart, f.end - f.valueStart));
}

/** A 32-bit float field's value (wire type 5). */
export function floatOf(src: FileSource, f: Field): number {
  const b = src.read(f.valueStart, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
}

/** The values of a repeated varint field, packed (wire 2) or not (one per field). */
export function packedVarints(src: FileSource, f: Field): number[] {
  if (f.wire === Wire.varint) return [f.value];
  const out: number[] = [];
  let pos = f.valueStart;
  while (pos < f.end) {
    const v = readVarint(src, pos);
    out.push(v.value);
    pos = v.next;
  }
  return out;
}
