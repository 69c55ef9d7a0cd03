/**
 * Streams a graph's weights to disk while it is being built, so a converter holds one tensor at a time
 * rather than every weight plus the serialized model. The spool file becomes the model's external data
 * (`model.onnx_data`) when the model is too large for one protobuf (2 GiB), or is copied into the
 * `.onnx` file chunk by chunk and deleted otherwise.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { FileSlice, Message } from './proto.js';

/** Tensors from this size on start at a 4 KiB boundary, so ORT can map them from external data. */
const ALIGN_FROM = 1 << 20;
const ALIGNMENT = 4096;

/** An append-only file of raw tensor bytes; each append returns the range it landed in. */
export class WeightSpool {
  readonly fd: number;
  private end = 0;
  private closed = false;

  /** Creates (or truncates) the spool file at `path`, open for reading and writing. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w+');
  }

  /** Bytes written so far (including alignment padding). */
  get size(): number {
    return this.end;
  }

  /** Appends `bytes` and returns where they are; the caller may drop its buffer afterwards. */
  append(bytes: Uint8Array): FileSlice {
    if (bytes.length >= ALIGN_FROM && this.end % ALIGNMENT !== 0) {
      const pad = ALIGNMENT - (this.end % ALIGNMENT);
      writeAll(this.fd, new Uint8Array(pad), this.end);
      this.end += pad;
    }
    const offset = this.end;
    writeAll(this.fd, bytes, offset);
    this.end += bytes.length;
    return { fd: this.fd, offset, length: bytes.length };
  }

  /** Closes the file (idempotent); slices of it cannot be written afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length)
    done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** Chunk size for copying spooled ranges into a model file. */
const COPY_CHUNK = 8 << 20;

/** Streams a message to a file part by part (no single buffer of the whole model is built). */
export function writeMessage(path: string, message: Message): void {
  const fd = openSync(path, 'w');
  let position = 0;
  let buffer: Uint8Array | undefined;
  try {
    for (const part of message.parts) {
      if (part instanceof Uint8Array) {
        writeAll(fd, part, position);
        position += part.length;
        continue;
      }
      buffer ??= new Uint8Array(COPY_CHUNK);
      for (let done = 0; done < part.length;) {
        const n = Math.min(COPY_CHUNK, part.length - done);
        const read = readSync(part.fd, buffer, 0, n, part.offset + done);
        if (read !== n) throw new Error(`weight spool ended early (${read} of ${n} bytes)`);
        writeAll(fd, buffer.subarray(0, n), position);
        position += n;
        done += n;
      }
    }
  } finally {
    closeSync(fd);
  }
}
