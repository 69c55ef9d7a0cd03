// `textgen doctor` end to end (built CLI): the --json report parses and agrees with the installed
// runtime and the environment's paths; the text report names every section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../models-cache/hf-layout.js';
import { assertBuilt, sandbox, textgen } from './models-cli.js';

const ortVersion = JSON.parse(
  readFileSync(join(repoRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
).version as string;

test('doctor --json: runtime, providers, GPU/CUDA verdict, CPU and paths', async () => {
  assertBuilt();
  const box = sandbox();
  box.env.TEXTGEN_CONFIG_DIR = join(box.root, 'cfg');
  try {
    const r = await textgen(['doctor', '--json'], box.env);
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.equal(r.stderr, '');
    const report = JSON.parse(String(r.stdout));
    assert.equal(report.onnxruntime.version, ortVersion);
    assert.ok(
      report.onnxruntime.binding_dir.startsWith(join(repoRoot, 'node_modules', 'onnxruntime-node')),
      "expected report.onnxruntime.binding_dir.startsWith(join(repoRoot, 'node_modules', 'onnxruntime-node'))",
    );
    assert.deepEqual(
      report.providers.map((p: { name: string }) => p.name),
      ['cpu', 'cuda', 'webgpu'],
    );
    assert.equal(report.providers[0].ok, true);
    assert.equal(typeof report.providers[0].ms, 'number');
    const cudaInstalled = report.onnxruntime.provider_libraries['libonnxruntime_providers_cuda.so'];
    assert.equal(report.providers[1].tried, cudaInstalled);
    assert.equal(
      report.auto_device,
      report.cuda.ready && report.providers[1].ok
        ? 'cuda'
        : report.webgpu.hardware.ok
          ? 'webgpu'
          : 'cpu',
    );
    // WebGPU: the adapter probe is tried wherever a loader exists, and a hardware adapter is never
    // claimed without a GPU device node.
    assert.equal(report.providers[2].ok, report.webgpu.adapter.ok);
    if (report.webgpu.backend === 'vulkan' && report.webgpu.gpu_nodes.length === 0)
      assert.equal(report.webgpu.hardware.ok, false);
    if (!report.webgpu.hardware.ok)
      assert.ok(report.webgpu.reason.length > 0, 'report.webgpu.reason.length > 0');
    if (!report.cuda.ready)
      assert.ok(
        report.cuda.reason.length > 0 && report.cuda.hint.length > 0,
        'report.cuda.reason.length > 0 && report.cuda.hint.length > 0',
      );
    assert.deepEqual(
      report.cuda.libraries.map((l: { soname: string }) => l.soname),
      ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcudnn.so.9'],
    );
    assert.equal(
      report.gpu.found,
      report.gpu.gpus.length > 0 || typeof report.gpu.evidence === 'string',
    );
    assert.ok(report.cpu.cores >= 1, 'expected report.cpu.cores >= 1');
    assert.equal(report.cpu.threads_small_model, 1);
    assert.equal(report.cpu.threads_large_model, Math.max(1, Math.min(4, report.cpu.cores - 1)));
    assert.deepEqual(report.paths, {
      config: join(box.root, 'cfg', 'config.json'),
      hub_cache: box.cache,
    });
  } finally {
    box.cleanup();
  }
});

test('doctor (text) prints each section on stdout and exits 0', async () => {
  assertBuilt();
  const box = sandbox();
  try {
    const r = await textgen(['doctor'], box.env);
    assert.equal(r.exitCode, 0, String(r.stderr));
    for (const label of [
      /^ONNX Runtime +\d+\.\d+\.\d+/m,
      /^Providers$/m,
      /^ {2}cpu +ok \(session \+ run \d+ ms\)$/m,
      /^GPU +/m,
      /^CUDA libraries$/m,
      /^WebGPU \((vulkan|metal|d3d12|not in this build)\)$/m,
      /^ {2}adapter +(obtained \(probe \d+ ms\)|none: .+|not tried: .+)$/m,
      /^ {2}hardware adapter +/m,
      /^--device auto +would use (cpu|cuda|webgpu)$/m,
      /^ {2}threads +default 1 /m,
      /^ {2}hub cache +/m,
    ]) {
      assert.match(String(r.stdout), label);
    }
  } finally {
    box.cleanup();
  }
});

test('doctor still reports the config path when the config file is broken', async () => {
  assertBuilt();
  const box = sandbox();
  const dir = join(box.root, 'cfg');
  box.env.TEXTGEN_CONFIG_DIR = dir;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{ broken');
    const r = await textgen(['doctor', '--json'], box.env);
    assert.equal(r.exitCode, 0, String(r.stderr));
    const report = JSON.parse(String(r.stdout));
    assert.equal(report.paths.config, join(dir, 'config.json'));
    assert.match(report.paths.config_error, /cannot be read/);
  } finally {
    box.cleanup();
  }
});
