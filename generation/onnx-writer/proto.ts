/**
 * A minimal protobuf encoder for writing ONNX files. A message is kept as a list of byte chunks with
 * a running length, so nested messages and large weight buffers are referenced, never copied, until
 * the whole model is streamed to disk. A chunk may also be a range of an open file (weights spooled
 * to disk while the graph was built), copied only when the message is written.
 */

const MASK64 = (BigInt(1) << BigInt(64)) - BigInt(1);

/** Encodes an unsigned or two's-complement 64-bit varint. */
export function varint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && value >= 0 && value < 0x80000000) {
    const out: number[] = [];
    let v = value;
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(v);
    return Uint8Array.from(out);
  }
  // Negative int64 values (axes = -1) take all ten bytes, as protobuf requires.
  let v = BigInt.asUintN(64, BigInt(value)) & MASK64;
  const out: number[] = [];
  const low = BigInt(0x7f);
  const seven = BigInt(7);
  while (v > low) {
    out.push(Number(v & low) | 0x80);
    v >>= seven;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

const encoder = new TextEncoder();

/**
 * A byte range of an open file, standing for a bytes field's content until the message is written
 * (by weight-spool's writeMessage, which copies it). It is a message part like any other: its `length`
 * is the range's, though it holds no bytes itself, so only a spool-aware writer may serialize it.
 */
export class FileSlice extends Uint8Array {
  constructor(
    readonly fd: number,
    readonly offset: number,
    size: number,
  ) {
    super(0);
    // An own property shadows the typed array's length getter: sizes add up as for real bytes.
    Object.defineProperty(this, 'length', { value: size });
  }
}

/**
 * A protobuf message under construction. `P` is the kind of deferred part a subclass adds (the
 * quantizer's file ranges and lazily produced payloads): anything with a known `length`, so nested
 * messages still get their length prefixes before any byte is produced.
 */
export class Message<P extends { readonly length: number } = Uint8Array> {
  readonly parts: Array<Uint8Array | P> = [];
  length = 0;

  /** Appends one part (bytes, or a deferred part of known length). */
  protected push(part: Uint8Array | P): void {
    this.parts.push(part);
    this.length += part.length;
  }

  private tag(field: number, wire: number): void {
    this.push(varint(field * 8 + wire));
  }

  /** A varint field (int32, int64, enum, bool). */
  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.push(varint(value));
    return this;
  }

  /** A 32-bit float field. */
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  /** A UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  /** A bytes field; the buffer (or file range) is referenced, not copied. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.push(varint(value.length));
    if (value.length) this.push(value);
    return this;
  }

  /** An embedded message field. */
  message(field: number, value: Message<P>): this {
    this.tag(field, 2);
    this.push(varint(value.length));
    for (const part of value.parts) this.push(part);
    return this;
  }

  /** A packed repeated varint field. */
  packedInts(field: number, values: ArrayLike<number | bigint>): this {
    const inner = new Message<P>();
    for (let i = 0; i < values.length; i++) inner.push(varint(values[i]));
    return this.message(field, inner);
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, b);
  }
}
