/**
 * Where a `textgen train` run writes, and whether it may: a model that already exists under the name
 * (local/NAME, or a non-empty --output folder) or a checkpoint left by an earlier run is never
 * replaced silently. On a terminal the user is asked; otherwise --force is needed.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { UsageError } from '../generation/errors.js';
import { hasCheckpoint } from '../generation/training/checkpoint.js';
import type { CommandContext } from './command.js';
import { confirm } from './confirm.js';

/** What a run would overwrite. */
export interface TrainTarget {
  name: string;
  /** The model folder the run writes. */
  modelDir: string;
  /** True when --output chose the folder. */
  isOutput: boolean;
  ckptDir: string;
}

function nonEmpty(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** What already exists there, in words, or undefined. */
function existing(t: TrainTarget): string | undefined {
  const model = t.isOutput ? nonEmpty(t.modelDir) : existsSync(t.modelDir);
  const ckpt = hasCheckpoint(t.ckptDir);
  const what = t.isOutput ? t.modelDir : `local/${t.name}`;
  if (model && ckpt) return `${what} already exists, with a training checkpoint`;
  if (model) return `${what} already exists`;
  if (ckpt) return `a training checkpoint of ${t.name} exists (${t.ckptDir})`;
  return undefined;
}

/**
 * Resolves to true when a fresh run may start (the old checkpoint is then removed, so that a later
 * --resume continues this run, not the old one), false when the user declined.
 */
export async function claimTarget(ctx: CommandContext, t: TrainTarget): Promise<boolean> {
  const found = existing(t);
  if (!found) return true;
  if (ctx.values.force !== true) {
    if (!ctx.stdin.isTTY || !ctx.stderr.isTTY)
      throw new UsageError(
        `${found}.`,
        'Pass --force to replace it, --resume to continue its training, or choose another --name.',
      );
    if (!(await confirm(ctx, `${found}. Replace it?`))) return false;
  }
  rmSync(t.ckptDir, { recursive: true, force: true });
  return true;
}
