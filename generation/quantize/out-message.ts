/**
 * The output side of the rewrite: a protobuf message whose parts are new bytes, byte ranges of a
 * source file (copied verbatim when written, never held in memory), or lazily produced payloads whose
 * length is known in advance (quantized weights, computed one at a time while the file is written).
 * Lengths are known before any byte is produced, so nested messages get their length prefixes up front
 * and the whole model streams to disk in one pass.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { varint } from '../onnx-writer/proto.js';
import type { FileSource } from './proto-reader.js';

/** A source range copied as is. */
interface CopyPart {
  src: FileSource;
  start: number;
  end: number;
}

/** A payload produced when written; `produce` must return exactly `length` bytes. */
interface LazyPart {
  length: number;
  produce: () => Uint8Array;
}

type Part = Uint8Array | CopyPart | LazyPart;

const encoder = new TextEncoder();

/** A message under construction. */
export class OutMessage {
  readonly parts: Part[] = [];
  length = 0;

  private push(part: Part): void {
    this.parts.push(part);
    this.length += part instanceof Uint8Array ? part.length : partLength(part);
  }

  private tag(field: number, wire: number): void {
    this.push(varint(field * 8 + wire));
  }

  /** A varint field. */
  int(field: number, value: number): this {
    this.tag(field, 0);
    this.push(varint(value));
    return this;
  }

  /** A float field (wire type 5). */
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  /** A string field. */
  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  /** A bytes field held in memory. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.push(varint(value.length));
    if (value.length) this.push(value);
    return this;
  }

  /** A packed repeated varint field. */
  packedInts(field: number, values: number[]): this {
    const inner = new OutMessage();
    for (const v of values) inner.push(varint(v));
    return this.message(field, inner);
  }

  /** An embedded message. */
  message(field: number, value: OutMessage): this {
    this.tag(field, 2);
    this.push(varint(value.length));
    for (const p of value.parts) this.push(p);
    return this;
  }

  /** A bytes field whose payload is produced at write time. */
  lazyBytes(field: number, length: number, produce: () => Uint8Array): this {
    this.tag(field, 2);
    this.push(varint(length));
    if (length) this.push({ length, produce });
    return this;
  }

  /** A bytes field whose payload is a range of a source file. */
  copyBytes(field: number, src: FileSource, start: number, end: number): this {
    this.tag(field, 2);
    this.push(varint(end - start));
    if (end > start) this.push({ src, start, end });
    return this;
  }

  /** Raw bytes of a source file, copied as is (a whole encoded field: tag, length and payload). */
  copy(src: FileSource, start: number, end: number): this {
    if (end > start) this.push({ src, start, end });
    return this;
  }
}

function partLength(p: CopyPart | LazyPart): number {
  return 'src' in p ? p.end - p.start : p.length;
}

const CHUNK = 4 << 20;

/**
 * Writes the parts to `path` (created, or truncated), fsyncs it, and yields the bytes written so far
 * after every few MiB, so a caller can show progress and stop between parts. Lazily produced parts are
 * checked against their declared length.
 */
export async function* writeMessage(path: string, message: OutMessage): AsyncGenerator<number> {
  const fd = openSync(path, 'w');
  let written = 0;
  let reported = 0;
  const put = (b: Uint8Array) => {
    let done = 0;
    while (done < b.length) done += writeSync(fd, b, done, b.length - done);
    written += b.length;
  };
  try {
    for (const p of message.parts) {
      if (p instanceof Uint8Array) put(p);
      else if ('src' in p) {
        const buf = new Uint8Array(Math.min(CHUNK, p.end - p.start));
        for (let at = p.start; at < p.end; at += CHUNK) {
          const view = buf.subarray(0, Math.min(CHUNK, p.end - at));
          p.src.fill(view, at);
          put(view);
        }
      } else {
        const bytes = p.produce();
        if (bytes.length !== p.length)
          throw new Error(`internal: produced ${bytes.length} bytes, declared ${p.length}`);
        put(bytes);
      }
      if (written - reported >= CHUNK) {
        reported = written;
        yield written;
      }
    }
    fsyncSync(fd);
    yield written;
  } finally {
    closeSync(fd);
  }
}
