// The safetensors reader: F32 / F16 / BF16 read as float32 exactly; every malformed header and
// truncated file is a one-line ModelError naming the file and the problem, found when it is opened.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from '../../../generation/errors.js';
import { SafetensorsFile } from '../../../generation/convert/safetensors.js';
import { bfloat16ToFloat32, float16ToFloat32, floatToHalfBits } from '../../../common/float16.js';
import { f32, writeSafetensors, type RawTensor } from './helpers.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'textgen-safetensors-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(tensors: Record<string, RawTensor>): string {
  const path = join(dir, `t${n++}.safetensors`);
  writeSafetensors(path, tensors);
  return path;
}

/** A file whose header is exactly `header` (any JSON text) followed by `data` bytes. */
function rawFile(header: string, data = 0): string {
  const path = join(dir, `r${n++}.safetensors`);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header), Buffer.alloc(data)]));
  return path;
}

function rejects(path: string, pattern: RegExp): void {
  assert.throws(
    () => new SafetensorsFile(path),
    (e: unknown) => {
      assert.ok(e instanceof ModelError, String(e));
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    },
  );
}

test('F32, F16 and BF16 tensors read back as float32 with their shapes', () => {
  const values = [0, 1, -2.5, 65504, 1e-5, -0.1];
  const half = floatToHalfBits(Float32Array.from(values));
  const bf = new Uint16Array(
    new Uint32Array(Float32Array.from(values).buffer).map((u) => u >>> 16),
  );
  const path = file({
    a: f32([2, 3], values),
    h: { dtype: 'F16', shape: [6], bytes: new Uint8Array(half.buffer) },
    b: { dtype: 'BF16', shape: [3, 2], bytes: new Uint8Array(bf.buffer) },
    skipped: { dtype: 'I64', shape: [1], bytes: new Uint8Array(8) },
  });
  const st = new SafetensorsFile(path);
  try {
    assert.deepEqual([...st.readFloat32('a')], [...Float32Array.from(values)]);
    assert.deepEqual([...st.readFloat32('h')], [...float16ToFloat32(half)]);
    assert.deepEqual([...st.readFloat32('b')], [...bfloat16ToFloat32(bf)]);
    assert.deepEqual(st.tensors.get('b')!.shape, [3, 2]);
    assert.throws(
      () => st.readFloat32('skipped'),
      /is I64; textgen convert reads F32, F16 and BF16/,
    );
  } finally {
    st.close();
  }
});

test('bf16 widening is exact and f16 decoding covers subnormals, infinities and NaN', () => {
  assert.deepEqual(
    [...bfloat16ToFloat32(Uint16Array.from([0x3f80, 0xc000, 0x0001]))],
    [1, -2, new Float32Array(new Uint32Array([0x00010000]).buffer)[0]],
  );
  const f = float16ToFloat32(Uint16Array.from([0x0001, 0x7c00, 0xfc00, 0x7e00, 0x3c00, 0xc000]));
  assert.equal(f[0], 2 ** -24);
  assert.equal(f[1], Infinity);
  assert.equal(f[2], -Infinity);
  assert.ok(Number.isNaN(f[3]), 'Number.isNaN(f[3])');
  assert.deepEqual([f[4], f[5]], [1, -2]);
});

test('float → half rounds to nearest even and saturates to infinity', () => {
  const bits = floatToHalfBits(
    Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 2 ** -25, 2 ** -24]),
  );
  assert.deepEqual([...bits], [0x3c00, 0x3c02, 0x7c00, 0x0000, 0x0001]);
  // Every half value survives a round trip.
  const all = Uint16Array.from({ length: 0x7c00 }, (_, i) => i);
  assert.deepEqual([...floatToHalfBits(float16ToFloat32(all))], [...all]);
});

test('a truncated file names the tensor that runs past the end', () => {
  const path = file({ a: f32([4], [1, 2, 3, 4]), b: f32([4], [5, 6, 7, 8]) });
  truncateSync(path, readFileSync(path).length - 3);
  rejects(
    path,
    /t\d+\.safetensors is not a valid safetensors file: truncated: tensor b ends at byte 32 of the data, which has 29/,
  );
});

test('a file cut inside its header, or shorter than the length prefix, is refused', () => {
  const path = file({ a: f32([4], [1, 2, 3, 4]) });
  truncateSync(path, 20);
  rejects(path, /truncated: the header needs \d+ bytes, the file has 12/);
  truncateSync(path, 5);
  rejects(path, /the file is 5 bytes, too short for a header/);
});

test('header problems: not JSON, absurd length, shape/offset mismatch, overlap, unknown dtype', () => {
  rejects(rawFile('{"a": '), /the header is not JSON/);
  rejects(rawFile('[1, 2]'), /the header is not a JSON object/);
  const huge = join(dir, 'huge.safetensors');
  const prefix = Buffer.alloc(16);
  prefix.writeBigUInt64LE(2n ** 40n);
  writeFileSync(huge, prefix);
  rejects(huge, /the header claims 1099511627776 bytes/);
  rejects(
    rawFile('{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}', 20),
    /tensor w is F32 \[2, 3\] \(24 bytes\) but its data_offsets span 20 bytes/,
  );
  rejects(
    rawFile(
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
      12,
    ),
    /tensors a and b overlap/,
  );
  rejects(
    rawFile('{"a":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}', 1),
    /unknown dtype "F4"/,
  );
  rejects(rawFile('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), /malformed shape/);
  rejects(
    rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', 4),
    /malformed data_offsets/,
  );
});

test('__metadata__ is kept apart from the tensors', () => {
  const path = rawFile(
    '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    4,
  );
  const st = new SafetensorsFile(path);
  assert.deepEqual(st.metadata, { format: 'pt' });
  assert.deepEqual([...st.tensors.keys()], ['a']);
  st.close();
});
