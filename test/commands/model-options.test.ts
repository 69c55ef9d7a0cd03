// Device selection from the user's side: --device > TEXTGEN_DEVICE > config "device" > cpu, and the
// built CLI's behaviour without a usable CUDA — `cuda` is one error line plus a hint with exit code 6,
// `auto` generates on CPU after one notice line on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOptionsFrom } from '../../commands/model-options.js';
import type { CommandContext } from '../../commands/command.js';
import { ExitCode, UsageError } from '../../generation/errors.js';
import { cudaState } from '../../generation/runtime/ort.js';
import { repoRoot } from '../models-cache/hf-layout.js';
import { assertBuilt, sandbox, textgen } from './models-cli.js';

// The embedded model: in every clone, so these run without the shared fixtures.
const model = join(repoRoot, 'models', 'default');

function ctxWith(values: CommandContext['values'], env: NodeJS.ProcessEnv): CommandContext {
  return {
    values,
    positionals: [],
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env,
    signal: new AbortController().signal,
  };
}

/** A sandbox whose config file says `device: configDevice`. */
function withConfig(configDevice: unknown) {
  const box = sandbox();
  const dir = join(box.root, 'cfg');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(configDevice === undefined ? {} : { device: configDevice }),
  );
  box.env.TEXTGEN_CONFIG_DIR = dir;
  return box;
}

const PRECEDENCE: {
  name: string;
  flag?: string;
  env?: string;
  config?: unknown;
  fallback?: string;
  want: string;
}[] = [
  { name: 'nothing set: cpu', want: 'cpu' },
  { name: 'config only', config: 'auto', want: 'auto' },
  { name: 'env beats config', env: 'cuda', config: 'auto', want: 'cuda' },
  { name: 'flag beats env and config', flag: 'cpu', env: 'cuda', config: 'auto', want: 'cpu' },
  { name: "the command's fallback comes after the config", fallback: 'auto', want: 'auto' },
  { name: 'config beats the fallback', config: 'cuda', fallback: 'auto', want: 'cuda' },
  { name: 'webgpu from the config', config: 'webgpu', want: 'webgpu' },
  { name: 'webgpu from the flag', flag: 'webgpu', env: 'cpu', want: 'webgpu' },
];

for (const c of PRECEDENCE) {
  test(`loadOptionsFrom device: ${c.name}`, () => {
    const box = withConfig(c.config);
    try {
      const env = { ...box.env, ...(c.env ? { TEXTGEN_DEVICE: c.env } : {}) };
      const values = { ...(c.flag ? { device: c.flag } : {}), 'device-id': '1', threads: '3' };
      const ctx = ctxWith(values, env);
      // The command's signal travels with the load options (Ctrl-C stops waiting for a load).
      const { signal, ...options } = loadOptionsFrom(ctx, c.fallback);
      assert.equal(signal, ctx.signal);
      assert.deepEqual(options, {
        dtype: undefined,
        device: c.want,
        deviceId: 1,
        threads: 3,
        verbose: false,
      });
    } finally {
      box.cleanup();
    }
  });
}

test('a config device of the wrong kind is a usage error naming the config file', () => {
  const box = withConfig(7);
  try {
    assert.throws(
      () => loadOptionsFrom(ctxWith({}, box.env)),
      (e: unknown) =>
        e instanceof UsageError &&
        /^config file .*: device must be auto, cpu, cuda(, webgpu)?, got 7$/.test(e.message),
    );
  } finally {
    box.cleanup();
  }
});

test('loadOptionsFrom names the source of a bad device', () => {
  const box = withConfig('gpu');
  try {
    assert.throws(
      () => loadOptionsFrom(ctxWith({ device: 'tpu' }, box.env)),
      (e: unknown) => e instanceof UsageError && /^--device must be/.test(e.message),
    );
    assert.throws(
      () => loadOptionsFrom(ctxWith({}, { ...box.env, TEXTGEN_DEVICE: 'gpu' })),
      (e: unknown) => e instanceof UsageError && /^TEXTGEN_DEVICE must be/.test(e.message),
    );
    assert.throws(() => loadOptionsFrom(ctxWith({ 'device-id': '-1' }, box.env)), UsageError);
  } finally {
    box.cleanup();
  }
});

const skipCuda =
  cudaState().ready && 'CUDA is usable on this machine; these cover machines without it';

test(
  'generate --device cuda: one error line, one hint line, exit 6, nothing on stdout',
  { skip: skipCuda },
  async () => {
    assertBuilt();
    const box = sandbox();
    try {
      const r = await textgen(
        ['generate', '--model', model, '--device', 'cuda', '--max-new-tokens', '4', 'Once'],
        box.env,
      );
      assert.equal(r.exitCode, ExitCode.device);
      assert.equal(r.stdout, '');
      const lines = String(r.stderr).trimEnd().split('\n');
      assert.equal(lines.length, 2, String(r.stderr));
      assert.match(lines[0], /^textgen: error: CUDA cannot be used: .+\.$/);
      assert.match(lines[1], /^ {2}hint: .*--device cpu/);
    } finally {
      box.cleanup();
    }
  },
);

test(
  'generate --device auto: falls back to CPU with exactly one notice line and generates',
  { skip: skipCuda },
  async () => {
    assertBuilt();
    const box = sandbox();
    try {
      const args = ['generate', '--model', model, '--max-new-tokens', '8', '--temperature', '0'];
      const r = await textgen([...args, '--device', 'auto', 'Call me Ishmael.'], box.env);
      assert.equal(r.exitCode, 0, String(r.stderr));
      assert.match(String(r.stderr), /^textgen: device auto: [^\n]+; running on CPU\.$/);
      // What it generates is exactly what --device cpu generates.
      const cpu = await textgen([...args, '--device', 'cpu', 'Call me Ishmael.'], box.env);
      assert.equal(cpu.exitCode, 0, String(cpu.stderr));
      assert.ok(String(cpu.stdout).length > 0, 'the CPU run generated text');
      assert.equal(r.stdout, cpu.stdout);
    } finally {
      box.cleanup();
    }
  },
);

test(
  'config "device": "cuda" applies to generate; TEXTGEN_DEVICE=cpu overrides it',
  { skip: skipCuda },
  async () => {
    assertBuilt();
    const box = withConfig('cuda');
    try {
      const args = ['generate', '--model', model, '--max-new-tokens', '4', 'Once'];
      assert.equal((await textgen(args, box.env)).exitCode, ExitCode.device);
      const r = await textgen(args, { ...box.env, TEXTGEN_DEVICE: 'cpu' });
      assert.equal(r.exitCode, 0, String(r.stderr));
      assert.equal(r.stderr, '');
    } finally {
      box.cleanup();
    }
  },
);

test('a bad TEXTGEN_DEVICE is a usage error (exit 2)', async () => {
  assertBuilt();
  const box = sandbox();
  try {
    const r = await textgen(['generate', '--model', model, 'Once'], {
      ...box.env,
      TEXTGEN_DEVICE: 'gpu',
    });
    assert.equal(r.exitCode, ExitCode.usage);
    assert.match(
      String(r.stderr),
      /^textgen: error: TEXTGEN_DEVICE must be auto, cpu, cuda, webgpu, got 'gpu'\./,
    );
  } finally {
    box.cleanup();
  }
});
