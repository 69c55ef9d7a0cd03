/**
 * The output side of the rewrite: a protobuf message whose parts are new bytes, byte ranges of a
 * source file (copied verbatim when written, never held in memory), or lazily produced payloads whose
 * length is known in advance (quantized weights, computed one at a time while the file is written).
 * Lengths are known before any byte is produced, so nested messages get their length prefixes up front
 * and the whole model streams to disk in one pass.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { Message, varint } from '../onnx-writer/proto.js';
import type { FileSource } from '../onnx-writer/proto-reader.js';

/** A source range copied as is. */
interface CopyPart {
  src: FileSource;
  start: number;
  end: number;
  length: number;
}

/** A payload produced when written; `produce` must return exactly `length` bytes. */
interface LazyPart {
  length: number;
  produce: () => Uint8Array;
}

/** A message under construction: the writer's {@link Message} plus file ranges and lazy payloads. */
export class OutMessage extends Message<CopyPart | LazyPart> {
  /** A bytes field whose payload is produced at write time. */
  lazyBytes(field: number, length: number, produce: () => Uint8Array): this {
    this.header(field, length);
    if (length) this.push({ length, produce });
    return this;
  }

  /** A bytes field whose payload is a range of a source file. */
  copyBytes(field: number, src: FileSource, start: number, end: number): this {
    this.header(field, end - start);
    return this.copy(src, start, end);
  }

  /** Raw bytes of a source file, copied as is (a whole encoded field: tag, length and payload). */
  copy(src: FileSource, start: number, end: number): this {
    if (end > start) this.push({ src, start, end, length: end - start });
    return this;
  }

  /** The tag and length prefix of a bytes field whose payload follows as a deferred part. */
  private header(field: number, length: number): void {
    this.push(varint(field * 8 + 2));
    this.push(varint(length));
  }
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
