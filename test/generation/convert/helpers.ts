// Helpers of the convert tests: a safetensors writer (independent of the reader under test), a
// model folder without its fused graph (so the optimum-style file runs on the growing-cache path),
// and a minimal ONNX protobuf walker that lists nodes and initializers.
import { closeSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { linkFolder, type TempFolder } from '../fixtures.js';

/** One tensor to write: its dtype name, shape and raw little-endian bytes. */
export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Writes a safetensors file (header padded to 8 bytes, tensors in the given order). */
export function writeSafetensors(path: string, tensors: Record<string, RawTensor>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.bytes.length],
    };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, Buffer.from(json));
    for (const t of Object.values(tensors)) writeSync(fd, t.bytes);
  } finally {
    closeSync(fd);
  }
}

/** Float32 values as an F32 tensor. */
export function f32(shape: number[], values: number[] | Float32Array): RawTensor {
  const data = Float32Array.from(values);
  return { dtype: 'F32', shape, bytes: new Uint8Array(data.buffer) };
}

/** A view of a converted folder without textgen's fused graphs: the loader then runs model*.onnx. */
export function withoutFused(dir: string): TempFolder {
  const entries: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else if (!e.name.startsWith('textgen_decoder')) entries[path] = join(dir, path);
    }
  };
  walk('');
  return linkFolder(entries);
}

/** A protobuf field: its number and either a varint or a byte range. */
interface Field {
  no: number;
  int?: bigint;
  bytes?: Uint8Array;
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, int: varint() });
    else if (wire === 2) {
      const n = Number(varint());
      out.push({ no, bytes: buf.subarray(i, i + n) });
      i += n;
    } else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const text = (b?: Uint8Array) => (b ? Buffer.from(b).toString('utf8') : '');

/** What a written ONNX file holds. */
export interface OnnxSummary {
  nodes: Array<{ op: string; domain: string; ints: Record<string, number> }>;
  initializers: Array<{
    name: string;
    type: number;
    dims: number[];
    external?: Record<string, string>;
  }>;
  opsets: Record<string, number>;
}

/** Lists the nodes (op type, domain, int attributes) and initializers of an ONNX file. */
export function inspectOnnx(path: string): OnnxSummary {
  const model = fields(readFileSync(path));
  const graph = fields(model.find((f) => f.no === 7)!.bytes!);
  const opsets: Record<string, number> = {};
  for (const f of model.filter((f) => f.no === 8)) {
    const o = fields(f.bytes!);
    opsets[text(o.find((x) => x.no === 1)?.bytes)] = Number(o.find((x) => x.no === 2)!.int);
  }
  const nodes = graph
    .filter((f) => f.no === 1)
    .map((f) => {
      const n = fields(f.bytes!);
      const ints: Record<string, number> = {};
      for (const a of n.filter((x) => x.no === 5)) {
        const af = fields(a.bytes!);
        const i = af.find((x) => x.no === 3);
        if (i) ints[text(af.find((x) => x.no === 1)!.bytes)] = Number(BigInt.asIntN(64, i.int!));
      }
      return {
        op: text(n.find((x) => x.no === 4)?.bytes),
        domain: text(n.find((x) => x.no === 7)?.bytes),
        ints,
      };
    });
  const initializers = graph
    .filter((f) => f.no === 5)
    .map((f) => {
      const t = fields(f.bytes!);
      const dimsField = t.find((x) => x.no === 1);
      const dims: number[] = [];
      if (dimsField?.bytes)
        for (const d of fields(prefixPacked(dimsField.bytes))) dims.push(Number(d.int));
      else for (const d of t.filter((x) => x.no === 1)) dims.push(Number(d.int));
      const ext = t.filter((x) => x.no === 13);
      const external = ext.length
        ? Object.fromEntries(
            ext.map((e) => {
              const kv = fields(e.bytes!);
              return [
                text(kv.find((x) => x.no === 1)?.bytes),
                text(kv.find((x) => x.no === 2)?.bytes),
              ];
            }),
          )
        : undefined;
      return {
        name: text(t.find((x) => x.no === 8)?.bytes),
        type: Number(t.find((x) => x.no === 2)?.int ?? 0),
        dims,
        external,
      };
    });
  return { nodes, initializers, opsets };
}

/** Re-keys a packed varint list as repeated field-1 varints so `fields` can read it. */
function prefixPacked(packed: Uint8Array): Uint8Array {
  const out: number[] = [];
  let start = 0;
  for (let i = 0; i < packed.length; i++) {
    if (packed[i] < 0x80) {
      out.push(0x08, ...packed.subarray(start, i + 1));
      start = i + 1;
    }
  }
  return Uint8Array.from(out);
}
