/**
 * A two-by-two MatMul ONNX model, encoded by hand as protobuf bytes, that `textgen doctor` opens on
 * each execution provider: MatMul runs through cuBLAS on CUDA, so a successful run shows the provider
 * and its libraries actually work, not merely load. Built in memory so no file ships with the package.
 */

const encoder = new TextEncoder();

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A varint field (wire type 0). */
function intField(field: number, value: number): number[] {
  return [...varint(field << 3), ...varint(value)];
}

/** A length-delimited field (wire type 2): bytes, a string or an embedded message. */
function bytesField(field: number, bytes: Uint8Array | string): Uint8Array {
  const data = typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
  return concat([varint((field << 3) | 2), varint(data.length), data]);
}

/** ValueInfoProto for a float tensor of fixed shape. */
function floatTensorInfo(name: string, dims: number[]): Uint8Array {
  const shape = concat(dims.map((d) => bytesField(1, new Uint8Array(intField(1, d)))));
  const tensorType = concat([intField(1, 1), bytesField(2, shape)]);
  return concat([bytesField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

/** The model: y = x · x for a float [2, 2] input x (IR version 8, opset 13). */
export function probeModelBytes(): Uint8Array {
  const node = concat([
    bytesField(1, 'x'),
    bytesField(1, 'x'),
    bytesField(2, 'y'),
    bytesField(3, 'probe_matmul'),
    bytesField(4, 'MatMul'),
  ]);
  const graph = concat([
    bytesField(1, node),
    bytesField(2, 'textgen_probe'),
    bytesField(11, floatTensorInfo('x', [2, 2])),
    bytesField(12, floatTensorInfo('y', [2, 2])),
  ]);
  const opset = concat([bytesField(1, ''), intField(2, 13)]);
  return concat([
    intField(1, 8),
    bytesField(2, 'textgen'),
    bytesField(8, opset),
    bytesField(7, graph),
  ]);
}

/** The probe's input and the product it must return. */
export const PROBE_INPUT = Float32Array.from([1, 2, 3, 4]);
/** [[1,2],[3,4]] squared. */
export const PROBE_EXPECTED = [7, 10, 15, 22];
