/**
 * `textgen models list|show|pull|rm`: the model cache shared with the Hugging Face hub tools.
 */
import { jsonOutput } from '../common/json-output.js';
import type { Command, CommandContext } from './command.js';
import { confirm } from './confirm.js';
import { UsageError } from '../generation/errors.js';
import { hubCacheDir, repoDir } from '../models-cache/paths.js';
import { listCachedModels, type CachedModel } from '../models-cache/scan.js';
import { pullModel } from '../models-cache/pull.js';
import { parseModelRef, resolveCached } from '../models-cache/resolve.js';
import { executeRemoval, planRemoval } from '../models-cache/remove.js';
import { acquireRepoLock } from '../models-cache/lock.js';
import { formatBytes, formatRevision, indent, renderTable } from './models-format.js';
import { progressReporter } from './models-progress.js';
import { showModel } from './models-show.js';
import { didYouMean } from './suggest.js';

const SUBCOMMANDS = 'list (ls), show ID, pull ID[@REV], rm ID[@REV]';

/** The `models` command. */
export const modelsCommand: Command = {
  name: 'models',
  summary: 'List, show, pull and remove cached models.',
  subcommands: ['list', 'show', 'pull', 'rm'],
  usage:
    'textgen models list|ls [--json] | show ID [--json] | pull ID[@REV] [--dtype D] | rm ID[@REV] [--yes]',
  options: {
    json: { type: 'boolean', description: 'Print machine-readable JSON on stdout.' },
    yes: { type: 'boolean', short: 'y', description: 'rm: remove without asking.' },
    dtype: {
      type: 'string',
      valueName: 'DTYPE',
      description:
        'pull: the weights variant (fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4; default: automatic).',
    },
    revision: {
      type: 'string',
      valueName: 'REV',
      description: 'pull/show/rm: branch, tag or commit (same as ID@REV).',
    },
  },
  async run(ctx) {
    const [sub, ...args] = ctx.positionals;
    switch (sub) {
      case undefined:
      case 'list':
      case 'ls':
        expectArgs(args, 0, 'list');
        return list(ctx);
      case 'show':
        return showModel(ctx, oneId(args, 'show'));
      case 'pull':
        return pull(ctx, oneId(args, 'pull'));
      case 'rm':
      case 'remove':
        return remove(ctx, oneId(args, 'rm'));
      default:
        throw new UsageError(
          `Unknown models subcommand '${sub}'.${didYouMean(sub, ['list', 'ls', 'show', 'pull', 'rm', 'remove'])}`,
          `Use one of: ${SUBCOMMANDS}.`,
        );
    }
  },
};

function expectArgs(args: string[], n: number, sub: string): void {
  if (args.length !== n)
    throw new UsageError(
      `textgen models ${sub} takes ${n === 0 ? 'no arguments' : 'one model id'}.`,
      `Usage: ${modelsCommand.usage}`,
    );
}

function oneId(args: string[], sub: string): string {
  expectArgs(args, 1, sub);
  return args[0];
}

/** Applies --revision to an `ID[@REV]` argument (both at once is ambiguous). */
function withRevision(ctx: CommandContext, spec: string): string {
  const revision = ctx.values.revision as string | undefined;
  if (!revision) return spec;
  if (spec.includes('@'))
    throw new UsageError('Give the revision either as ID@REV or with --revision, not both.');
  return `${spec}@${revision}`;
}

function warn(ctx: CommandContext, message: string): void {
  ctx.stderr.write(`textgen: warning: ${message}\n`);
}

async function list(ctx: CommandContext): Promise<number> {
  const entries = listCachedModels(ctx.env);
  for (const e of entries.filter((m) => m.damaged))
    warn(
      ctx,
      `${e.id}${e.revision ? `@${e.revision.slice(0, 12)}` : ''} is damaged: ${e.problem} (${e.dir})`,
    );
  if (ctx.values.json) {
    ctx.stdout.write(jsonOutput({ cache: hubCacheDir(ctx.env), models: entries }, { indent: 2 }));
    return 0;
  }
  const usable = entries.filter((m) => !m.problem);
  const unusable = entries.filter((m) => m.problem && !m.damaged);
  if (usable.length === 0 && unusable.length === 0) {
    ctx.stderr.write(
      `No models in ${hubCacheDir(ctx.env)}. The built-in default model runs when no --model is given; get others with \`textgen models pull ORG/NAME\`.\n`,
    );
    return 0;
  }
  if (usable.length) {
    const rows = [['ID', 'REVISION', 'SIZE', 'ARCHITECTURE', 'TASK', 'DTYPES', 'CONTEXT']];
    for (const m of usable) rows.push(row(m));
    ctx.stdout.write(renderTable(rows));
  }
  if (unusable.length) {
    ctx.stdout.write(`${usable.length ? '\n' : ''}Not usable by textgen:\n`);
    const rows = [['ID', 'REVISION', 'SIZE', 'REASON']];
    for (const m of unusable)
      rows.push([
        m.id,
        formatRevision(m.refs, m.revision),
        formatBytes(m.sizeBytes),
        m.problem ?? '',
      ]);
    ctx.stdout.write(indent(renderTable(rows)));
  }
  return 0;
}

function row(m: CachedModel): string[] {
  return [
    m.id,
    formatRevision(m.refs, m.revision),
    formatBytes(m.sizeBytes),
    m.architecture ?? '',
    m.task ?? '',
    m.dtypes.join(','),
    String(m.contextLength ?? ''),
  ];
}

async function pull(ctx: CommandContext, spec: string): Promise<number> {
  const ref = parseModelRef(withRevision(ctx, spec));
  const result = await pullModel({
    id: ref.id,
    revision: ref.revision,
    dtype: ctx.values.dtype as string | undefined,
    env: ctx.env,
    signal: ctx.signal,
    onEvent: progressReporter(ctx.stderr),
  });
  if (result.offline) {
    ctx.stderr.write(
      `Offline (HF_HUB_OFFLINE): using the cached ${result.id}@${result.revision} (${result.commit}); nothing downloaded.\n`,
    );
  } else {
    const variant = result.dtype ? `, ${result.dtype}` : '';
    ctx.stderr.write(
      `Pulled ${result.id}@${result.revision} (commit ${result.commit.slice(0, 12)}${variant}): ${result.files.length} files, ${formatBytes(result.fetchedBytes)} downloaded.\n`,
    );
    ctx.stderr.write(`  ${result.dir}\n`);
  }
  if (result.problem) warn(ctx, `the pulled folder cannot be loaded yet: ${result.problem}`);
  if (ctx.values.json) ctx.stdout.write(jsonOutput(result, { indent: 2 }));
  return 0;
}

async function remove(ctx: CommandContext, spec: string): Promise<number> {
  const ref = parseModelRef(withRevision(ctx, spec));
  const resolved = resolveCached(ref, ctx.env);
  const repo = repoDir(ref.id, ctx.env);
  const yes = Boolean(ctx.values.yes);
  if (!yes && !ctx.stdin.isTTY) {
    throw new UsageError(
      `Refusing to remove ${ref.id} without confirmation.`,
      'Pass --yes to remove without asking (stdin is not a terminal).',
    );
  }
  const preview = planRemoval(repo, resolved.revision!);
  const what = `${ref.id} ${formatRevision(preview.refs, preview.commit)}`;
  // Asked before taking the lock, so a pull of the same model never waits on a person.
  if (
    !yes &&
    !(await confirm(ctx, `Remove ${what} and free ${formatBytes(preview.freedBytes)}?`))
  ) {
    ctx.stderr.write('Nothing removed.\n');
    return 0;
  }
  const lock = await acquireRepoLock(ref.id, {
    env: ctx.env,
    signal: ctx.signal,
    onWait: () => ctx.stderr.write('Waiting for a pull of this model to finish...\n'),
  });
  try {
    const plan = planRemoval(repo, preview.commit);
    executeRemoval(plan);
    ctx.stderr.write(
      `Removed ${what}: freed ${formatBytes(plan.freedBytes)}${plan.removesRepo ? ' (no other revision left; repo folder removed)' : ''}.\n`,
    );
    if (ctx.values.json) ctx.stdout.write(jsonOutput(plan, { indent: 2 }));
    return 0;
  } finally {
    lock.release();
  }
}
