// `--device webgpu` through the built CLI: the same text as the CPU, and nothing from Dawn, Mesa or
// libwayland on the user's terminal (a real pseudo-terminal via `script`, and a shell pipe), with a
// WAYLAND_DISPLAY that cannot be reached (the case that makes libwayland complain). Where no Vulkan
// loader exists, `--device webgpu` is one error line, a hint and exit code 6.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { ExitCode } from '../../generation/errors.js';
import { webgpuBundled, webgpuState } from '../../generation/runtime/ort.js';
import { findOnPath } from '../../generation/runtime/device.js';
import { probeAdapter } from '../../generation/runtime/webgpu-probe.js';
import { sharedModels, repoRoot } from '../models-cache/hf-layout.js';
import { assertBuilt, sandbox, textgen } from '../commands/models-cli.js';
// Every test here runs the fixture models: skipped, with the reason, when they are missing.
import { sharedTest as test } from '../shared-fixtures.js';

const stories = join(sharedModels, 'stories260K-onnx');
const probe = webgpuBundled() ? await probeAdapter() : undefined;
const noAdapter = !probe?.ok && `no WebGPU adapter here (${probe?.detail ?? 'not in this build'})`;
const script = findOnPath('script');
const args = (device: string) => [
  'generate',
  '--model',
  stories,
  '--device',
  device,
  '--max-new-tokens',
  '12',
  '--temperature',
  '0',
  'Once upon a time',
];
const quote = (parts: string[]) => parts.map((p) => `'${p.replace(/'/g, `'\\''`)}'`).join(' ');
const command = (device: string) =>
  quote(['node', join(repoRoot, 'bin', 'textgen.js'), ...args(device)]);

async function cpuText(env: Record<string, string>): Promise<string> {
  const r = await textgen(args('cpu'), env);
  assert.equal(r.exitCode, 0, String(r.stderr));
  return String(r.stdout);
}

test(
  'generate --device webgpu on a terminal: the CPU text and not a byte of native noise',
  { skip: noAdapter || (!script && 'no `script` command to make a pseudo-terminal') },
  async () => {
    assertBuilt();
    const box = sandbox({ WAYLAND_DISPLAY: 'wayland-0' });
    try {
      const want = await cpuText(box.env);
      // script runs the command on a pseudo-terminal: stdout and stderr are both that terminal.
      const r = await execa(script!, ['-qec', command('webgpu'), '/dev/null'], {
        env: box.env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        // Generous: a loaded machine starts software Vulkan slowly (this bounds a hang, it times nothing).
        timeout: 600_000,
      });
      assert.equal(r.exitCode, 0, String(r.stdout));
      assert.equal(String(r.stdout).replace(/\r\n/g, '\n').trim(), want.trim());
    } finally {
      box.cleanup();
    }
  },
);

test(
  'generate --device webgpu into a pipe: stderr stays empty, stdout is the CPU text',
  { skip: noAdapter },
  async () => {
    assertBuilt();
    const box = sandbox({ WAYLAND_DISPLAY: 'wayland-0' });
    try {
      const want = await cpuText(box.env);
      // The CLI's stderr is a shell pipe into cat (as `textgen ... 2>&1 | less` would be).
      const r = await execa(
        'sh',
        ['-c', `{ ${command('webgpu')} 2>&1 1>&3 3>&- | cat 1>&2; } 3>&1`],
        {
          env: box.env,
          extendEnv: false,
          reject: false,
          stdin: 'ignore',
          // Generous: a loaded machine starts software Vulkan slowly (this bounds a hang, it times nothing).
          timeout: 600_000,
        },
      );
      assert.equal(r.exitCode, 0, String(r.stderr));
      assert.equal(String(r.stderr), '');
      assert.equal(String(r.stdout), want);
    } finally {
      box.cleanup();
    }
  },
);

test(
  'generate --device webgpu without a Vulkan loader: one error line, a hint, exit code 6',
  {
    skip:
      webgpuBundled() &&
      webgpuState().backend === 'vulkan' &&
      webgpuState().loader !== undefined &&
      `a Vulkan loader is installed here (${webgpuState().loader})`,
  },
  async () => {
    assertBuilt();
    const box = sandbox();
    try {
      const r = await textgen(args('webgpu'), box.env);
      assert.equal(r.exitCode, ExitCode.device, String(r.stderr));
      const lines = String(r.stderr).trimEnd().split('\n');
      assert.equal(lines.length, 2, String(r.stderr));
      assert.match(lines[0], /^textgen: error: WebGPU cannot be used: .+\.$/);
      assert.match(lines[1], /^ {2}hint: .*--device cpu/);
    } finally {
      box.cleanup();
    }
  },
);
