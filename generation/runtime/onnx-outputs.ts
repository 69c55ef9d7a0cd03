/**
 * Reads the graph output names of an ONNX file without loading it: the protobuf is walked field by
 * field and everything else (weights, nodes) is skipped by its length, so a multi-GB model costs a
 * few hundred small reads. The WebGPU session needs the names before it exists: its
 * `preferredOutputLocation` must name each output kept on the GPU, and names it does not know are
 * an error.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A forward-only reader over a file with a small window buffer. */
class FileCursor {
  private buffer = Buffer.alloc(64 * 1024);
  private start = 0;
  private end = 0;
  pos = 0;

  constructor(private readonly fd: number) {}

  private fill(at: number): void {
    const n = readSync(this.fd, this.buffer, 0, this.buffer.length, at);
    this.start = at;
    this.end = at + n;
  }

  byte(): number {
    if (this.pos < this.start || this.pos >= this.end) this.fill(this.pos);
    if (this.pos >= this.end) throw new Error('unexpected end of file');
    return this.buffer[this.pos++ - this.start];
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new Error('malformed varint');
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, out, done, n - done, this.pos + done);
      if (got === 0) throw new Error('unexpected end of file');
      done += got;
    }
    this.pos += n;
    return out;
  }

  /** Skips a field's payload of the given wire type. */
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const n = this.varint();
      this.pos += n;
    } else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** The string in field 1 (name) of an embedded ValueInfoProto. */
function nameOf(message: Buffer): string | undefined {
  let at = 0;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = message[at++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  while (at < message.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 2) {
      const n = varint();
      if (tag >>> 3 === 1) return message.toString('utf8', at, at + n);
      at += n;
    } else if (wire === 0) varint();
    else at += wire === 1 ? 8 : 4;
  }
  return undefined;
}

/** The names of the graph's outputs, in order (ModelProto.graph = 7, GraphProto.output = 12). */
export function onnxOutputNames(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    const cursor = new FileCursor(fd);
    // The graph ends where its length says; the fields of ModelProto around it are skipped.
    let end = fstatSync(fd).size;
    let inGraph = false;
    const names: string[] = [];
    while (cursor.pos < end) {
      const tag = cursor.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (!inGraph && field === 7 && wire === 2) {
        const length = cursor.varint();
        end = cursor.pos + length;
        inGraph = true;
      } else if (inGraph && field === 12 && wire === 2) {
        const name = nameOf(cursor.bytes(cursor.varint()));
        if (name !== undefined) names.push(name);
      } else {
        cursor.skip(wire);
      }
    }
    return names;
  } finally {
    closeSync(fd);
  }
}
