// The WebGPU pieces that need no GPU: the file-level readiness verdict on hand-built trees (ICD
// manifests, device nodes, sysfs vendors, the loader), the ONNX output-name reader against real
// sessions, the gather/slice helper graph run on the CPU provider, the GPU tensor ledger, and the
// environment clean-up that keeps libwayland quiet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GpuLedger } from '../../../generation/runtime/gpu-kv-cache.js';
import { gatherSliceModel } from '../../../generation/runtime/gpu-kv-ops.js';
import { onnxOutputNames } from '../../../generation/runtime/onnx-outputs.js';
import { ort, openSession, tensor, type Tensor } from '../../../generation/runtime/ort.js';
import {
  icdSearchDirs,
  listVulkanDrivers,
  readDriverManifest,
  webgpuReadiness,
} from '../../../generation/runtime/webgpu-device.js';
import { conciseError, quietEnvironment } from '../../../generation/runtime/webgpu-probe.js';
import { fixture } from '../fixtures.js';
import { sharedTest } from '../../shared-fixtures.js';

interface Tree {
  root: string;
  cleanup(): void;
}

/** A temp tree: path → file content ('' for device nodes). */
function tree(files: Record<string, string>): Tree {
  const root = mkdtempSync(join(tmpdir(), 'textgen-webgpu-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

const icd = (library: string) =>
  JSON.stringify({ ICD: { library_path: library, api_version: '1.3' } });
const LVP = { 'icd/lvp_icd.x86_64.json': icd('libvulkan_lvp.so') };
const RADV = { 'icd/radeon_icd.x86_64.json': icd('libvulkan_radeon.so') };
const NODE = { 'dev/dri/renderD128': '', 'sys/renderD128/device/vendor': '0x1002\n' };
/** An ldconfig cache naming a loader that exists (the file is this test file: any file will do). */
const LOADER = new Map([['libvulkan.so.1', import.meta.filename]]);

const CASES: {
  name: string;
  files: Record<string, string>;
  loader?: Map<string, string>;
  candidate: boolean;
  reason?: RegExp;
}[] = [
  {
    name: 'no loader',
    files: { ...RADV, ...NODE },
    loader: new Map(),
    candidate: false,
    reason: /no Vulkan loader/,
  },
  {
    name: 'no GPU device node',
    files: { ...RADV, ...LVP },
    candidate: false,
    reason: /no GPU device/,
  },
  {
    name: 'only lavapipe',
    files: { ...LVP, ...NODE },
    candidate: false,
    reason: /only software Vulkan drivers installed \(libvulkan_lvp\.so\)/,
  },
  {
    name: 'no driver at all',
    files: { ...NODE },
    candidate: false,
    reason: /no Vulkan driver installed/,
  },
  {
    name: 'a hardware driver and a render node',
    files: { ...LVP, ...RADV, ...NODE },
    candidate: true,
  },
  {
    name: 'NVIDIA device node',
    files: { 'icd/nvidia_icd.json': icd('libGLX_nvidia.so.0'), 'dev/nvidia0': '' },
    candidate: true,
  },
];

for (const c of CASES) {
  test(`webgpuReadiness: ${c.name}`, () => {
    const t = tree(c.files);
    try {
      const r = webgpuReadiness({
        env: {},
        platform: 'linux',
        arch: 'x64',
        devDir: join(t.root, 'dev'),
        drmDir: join(t.root, 'sys'),
        icdDirs: [join(t.root, 'icd')],
        loaderCache: c.loader ?? LOADER,
      });
      assert.equal(r.backend, 'vulkan');
      assert.equal(r.hardwareCandidate, c.candidate);
      if (c.reason) assert.match(r.reason ?? '', c.reason);
      if (!c.candidate)
        assert.ok(
          r.hint && r.hint.includes('--device cpu'),
          "r.hint && r.hint.includes('--device cpu')",
        );
    } finally {
      t.cleanup();
    }
  });
}

test('webgpuReadiness: render node vendors from sysfs; Metal and D3D12 leave it to the probe', () => {
  const t = tree({ ...RADV, ...NODE });
  try {
    const inputs = {
      env: {},
      devDir: join(t.root, 'dev'),
      drmDir: join(t.root, 'sys'),
      icdDirs: [join(t.root, 'icd')],
      loaderCache: LOADER,
    };
    const linux = webgpuReadiness({ ...inputs, platform: 'linux', arch: 'x64' });
    assert.deepEqual(linux.gpuNodes, [
      { path: join(t.root, 'dev', 'dri', 'renderD128'), vendor: 'AMD' },
    ]);
    assert.equal(
      webgpuReadiness({ ...inputs, platform: 'darwin', arch: 'arm64' }).backend,
      'metal',
    );
    assert.equal(
      webgpuReadiness({ ...inputs, platform: 'win32', arch: 'x64' }).hardwareCandidate,
      true,
    );
    const arm = webgpuReadiness({ ...inputs, platform: 'linux', arch: 'arm64' });
    assert.equal(arm.hardwareCandidate, false);
    assert.match(arm.reason ?? '', /no WebGPU provider on linux arm64/);
  } finally {
    t.cleanup();
  }
});

test('Vulkan drivers: manifests classified by library, VK_DRIVER_FILES replaces the search', () => {
  const t = tree({
    ...LVP,
    ...RADV,
    'icd/broken.json': '{',
    'other/swiftshader.json': icd('./libvk_swiftshader.so'),
  });
  try {
    assert.deepEqual(
      listVulkanDrivers({}, [join(t.root, 'icd')]).map((d) => [d.library, d.software]),
      [
        ['libvulkan_lvp.so', true],
        ['libvulkan_radeon.so', false],
      ],
    );
    const explicit = listVulkanDrivers({
      VK_DRIVER_FILES: join(t.root, 'other', 'swiftshader.json'),
    });
    assert.deepEqual(
      explicit.map((d) => d.software),
      [true],
    );
    assert.equal(readDriverManifest(join(t.root, 'icd', 'broken.json')), undefined);
    assert.deepEqual(icdSearchDirs({ HOME: '/h', XDG_DATA_DIRS: '/a:/b' }).slice(-2), [
      '/a/vulkan/icd.d',
      '/b/vulkan/icd.d',
    ]);
  } finally {
    t.cleanup();
  }
});

sharedTest(
  'onnxOutputNames reads the graph outputs a session reports, without loading weights',
  async () => {
    for (const file of [
      fixture('stories260K-onnx', 'onnx', 'model.onnx'),
      fixture('tiny-random-t5', 'onnx', 'decoder_model_merged.onnx'),
      fixture('ort-genai-tiny-random-llama-fp16', 'model.onnx'),
    ]) {
      const opened = await openSession(file, { device: 'cpu' });
      try {
        assert.deepEqual(onnxOutputNames(file), opened.session.outputNames, file);
      } finally {
        await opened.session.release();
      }
    }
  },
);

test('the gather/slice helper graph picks rows and cuts the sequence (run on the CPU provider)', async () => {
  // [2 (lead), batch 3, heads 1, seq 4, dim 2]: value = 1000·lead + 100·row + 10·pos + d.
  const dims = [2, 3, 1, 4, 2];
  const x = new Float32Array(48);
  for (let l = 0; l < 2; l++)
    for (let b = 0; b < 3; b++)
      for (let p = 0; p < 4; p++)
        for (let d = 0; d < 2; d++)
          x[((l * 3 + b) * 4 + p) * 2 + d] = 1000 * l + 100 * b + 10 * p + d;
  const session = await ort.InferenceSession.create(gatherSliceModel('float32', 5, 1), {
    logSeverityLevel: 4,
  });
  try {
    const out = await session.run({
      x: tensor('float32', x, dims),
      rows: tensor('int64', BigInt64Array.from([2n, 0n, 2n, 2n]), [4]),
      length: tensor('int64', BigInt64Array.of(3n), [1]),
    });
    const y: Tensor = out.y;
    assert.deepEqual(y.dims, [2, 4, 1, 3, 2]);
    const data = y.data as Float32Array;
    const rows = [2, 0, 2, 2];
    for (let l = 0; l < 2; l++)
      for (let i = 0; i < 4; i++)
        for (let p = 0; p < 3; p++)
          for (let d = 0; d < 2; d++)
            assert.equal(
              data[((l * 4 + i) * 3 + p) * 2 + d],
              1000 * l + 100 * rows[i] + 10 * p + d,
            );
  } finally {
    await session.release();
  }
});

test('GpuLedger disposes each GPU tensor once and refuses a second release', () => {
  const ledger = new GpuLedger();
  let disposed = 0;
  const fake = {
    location: 'gpu-buffer',
    type: 'float16',
    dispose: () => disposed++,
  } as unknown as Tensor;
  const host = tensor('float32', new Float32Array(1), [1]);
  ledger.adopt(fake);
  ledger.adopt(host);
  assert.equal(ledger.held, 1);
  ledger.release(fake);
  ledger.release(host);
  assert.throws(() => ledger.release(fake), /released twice/);
  assert.deepEqual(
    [disposed, ledger.adopted, ledger.disposed, ledger.held, ledger.types.float16],
    [1, 1, 1, 0, 1],
  );
});

test('quietEnvironment drops an unreachable WAYLAND_DISPLAY and keeps a usable one', () => {
  const t = tree({ 'run/.keep': '' });
  try {
    const unset: NodeJS.ProcessEnv = { WAYLAND_DISPLAY: 'wayland-0' };
    quietEnvironment(unset);
    assert.equal(unset.WAYLAND_DISPLAY, undefined);
    const missing: NodeJS.ProcessEnv = {
      WAYLAND_DISPLAY: 'wayland-0',
      XDG_RUNTIME_DIR: join(t.root, 'nope'),
    };
    quietEnvironment(missing);
    assert.equal(missing.WAYLAND_DISPLAY, undefined);
    const usable: NodeJS.ProcessEnv = {
      WAYLAND_DISPLAY: 'wayland-0',
      XDG_RUNTIME_DIR: join(t.root, 'run'),
    };
    quietEnvironment(usable);
    assert.equal(usable.WAYLAND_DISPLAY, 'wayland-0');
    const absolute: NodeJS.ProcessEnv = { WAYLAND_DISPLAY: '/tmp/wayland-0' };
    quietEnvironment(absolute);
    assert.equal(absolute.WAYLAND_DISPLAY, '/tmp/wayland-0');
  } finally {
    t.cleanup();
  }
});

test('conciseError keeps what an ONNX Runtime failure says, not where it was raised', () => {
  assert.equal(
    conciseError(
      '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(...)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\nmore',
    ),
    'Failed to get a WebGPU adapter: No supported adapters',
  );
  assert.equal(conciseError('/onnxruntime_src/x.cc:3 out of memory'), 'out of memory');
  assert.equal(conciseError('plain'), 'plain');
});
