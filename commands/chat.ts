/**
 * `textgen chat`: the chat TUI in a terminal (Ink, loaded only then), or scriptable chat when stdin
 * is piped (one user turn per line, one reply per line on stdout). The TUI autosaves its session
 * after every turn; piped chat only with --session or --continue. --continue resumes the latest
 * session, --session NAME a named one; --list-sessions and --rm-session NAME manage them.
 */
import { existsSync } from 'node:fs';
import { UsageError } from '../generation/errors.js';
import {
  ChatSession,
  inspectModelFolder,
  loadModel,
  type SessionState,
  type SettingsLayer,
  type TextGenerator,
  warmTemplateRenderer,
} from '../generation/index.js';
import { listCachedModels, snapshotFiles, distinctSize } from '../models-cache/scan.js';
import { embeddedModelDir, resolveModel } from '../models-cache/resolve.js';
import type { ModelEntry } from '../ui/types.js';
import type { Command, CommandContext } from './command.js';
import {
  latestSessionPath,
  newSessionName,
  SessionFile,
  sessionFiles,
  sessionName,
  sessionPath,
} from './chat-sessions.js';
import { listSessions, removeSessionCommand } from './chat-session-admin.js';
import { runPipedChat } from './chat-pipe.js';
import { GENERATION_FLAGS, settingsLayerFromFlags } from './flags/generation-flags.js';
import { loadOptionsFrom, MODEL_FLAGS } from './model-options.js';
import { pullIfMissing } from './model-resolution.js';
import { readUserConfig, rememberLastModel, type UserConfig } from './user-config.js';
import { ENDPOINT_FLAGS, endpointOf, openEndpoint } from './endpoint.js';

/** The chat command. */
export const chatCommand: Command = {
  name: 'chat',
  summary: 'Open the chat TUI (the default in a terminal).',
  usage:
    'textgen chat [--model ID] [--continue | --session NAME] [--system TEXT] [FLAGS] | --list-sessions | --rm-session NAME   (piped stdin: one turn per line)',
  allowPositionals: false,
  options: {
    ...MODEL_FLAGS,
    continue: { type: 'boolean', short: 'c', description: 'Resume the most recent chat session.' },
    session: {
      type: 'string',
      short: 's',
      valueName: 'NAME',
      description: 'Resume or start the named session (saved under the data folder).',
    },
    system: { type: 'string', valueName: 'TEXT', description: 'System prompt for this chat.' },
    'list-sessions': {
      type: 'boolean',
      description: 'List the saved sessions (name, messages, last change, model) and exit.',
    },
    'rm-session': {
      type: 'string',
      valueName: 'NAME',
      description: 'Delete a saved session and exit.',
    },
    ...ENDPOINT_FLAGS,
    ...GENERATION_FLAGS,
  },
  async run(ctx) {
    if (ctx.values['list-sessions']) return listSessions(ctx);
    if (ctx.values['rm-session'] !== undefined)
      return removeSessionCommand(ctx, ctx.values['rm-session'] as string);
    if (ctx.values.continue && ctx.values.session)
      throw new UsageError(
        '--continue and --session cannot be combined.',
        'Use --session NAME to resume a named session.',
      );
    const config = readUserConfig(ctx.env);
    // Chat templates render in a separate process: start it while the model loads.
    warmTemplateRenderer();
    await pullIfMissing(ctx, ctx.values.model as string | undefined);
    const baseLayers = [config.settings ?? {}, settingsLayerFromFlags(ctx.values)];
    const piped = !ctx.stdin.isTTY || !ctx.stdout.isTTY;
    const file = await openSession(ctx, piped);
    try {
      const state = file?.existing?.state;
      const system = ctx.values.system as string | undefined;
      if (piped) return await runPiped(ctx, config, state, system, baseLayers, file);
      return await runInteractive(ctx, config, state, system, baseLayers, file);
    } finally {
      file?.close();
    }
  },
};

/**
 * The session file this chat appends to, locked: --session NAME (new or resumed), --continue (the
 * latest), a fresh name for the TUI, none for piped chat without either.
 */
async function openSession(ctx: CommandContext, piped: boolean): Promise<SessionFile | undefined> {
  const name = ctx.values.session as string | undefined;
  if (name) return SessionFile.open(sessionPath(name, ctx.env));
  if (ctx.values.continue) {
    const path = await latestSessionPath(ctx.env);
    if (!path)
      throw new UsageError(
        'There is no saved chat session to continue.',
        'Start a chat with `textgen chat`; it is saved after every turn.',
      );
    return SessionFile.open(path);
  }
  return piped ? undefined : SessionFile.open(sessionPath(newSessionName(), ctx.env));
}

/** A picker entry for a model folder outside the cache (a --model path). */
function folderEntry(id: string, dir: string): ModelEntry {
  const folder = inspectModelFolder(dir);
  return {
    id,
    path: dir,
    sizeBytes: distinctSize(snapshotFiles(dir)),
    architecture: folder.architecture,
    task: folder.task,
    dtypes: folder.dtypes,
    contextLength: folder.contextLength,
  };
}

/** The picker entry of a connected remote engine (it carries the generator itself). */
function remoteEntry(generator: TextGenerator): ModelEntry & { remote: TextGenerator } {
  const { info } = generator;
  return {
    id: info.remote?.model ?? info.dir,
    path: info.dir,
    sizeBytes: 0,
    architecture: info.architecture,
    task: info.task,
    dtypes: [],
    contextLength: info.contextLength,
    remote: generator,
  };
}

/** Usable cached models as picker entries; several snapshots of one id are told apart by revision. */
function cachedEntries(env: NodeJS.ProcessEnv): ModelEntry[] {
  const usable = listCachedModels(env).filter((m) => !m.problem && m.architecture && m.task);
  return usable.map((m) => ({
    id: usable.filter((o) => o.id === m.id).length > 1 ? `${m.id}@${m.revision.slice(0, 7)}` : m.id,
    path: m.dir,
    sizeBytes: m.sizeBytes,
    architecture: m.architecture!,
    task: m.task!,
    dtypes: m.dtypes,
    contextLength: m.contextLength ?? 0,
  }));
}

/** Resolves a model spec to a picker entry: the cache's entry when it is one, else the folder's. */
function entryFor(
  spec: string | undefined,
  config: UserConfig,
  models: ModelEntry[],
  env: NodeJS.ProcessEnv,
): ModelEntry {
  const resolved = resolveModel(spec, {
    env,
    configuredDefault: config.defaultModel ?? config.lastModel,
  });
  const cached = models.find((m) => m.path === resolved.dir);
  if (cached) return cached;
  // Folder ids are stored absolute so a saved session or the remembered model works from any folder.
  const id = resolved.revision || resolved.id === 'default' ? resolved.id : resolved.dir;
  return folderEntry(id, resolved.dir);
}

async function runPiped(
  ctx: CommandContext,
  config: UserConfig,
  state: SessionState | undefined,
  system: string | undefined,
  baseLayers: SettingsLayer[],
  file: SessionFile | undefined,
): Promise<number> {
  const spec = (ctx.values.model as string | undefined) ?? state?.model;
  const endpoint = endpointOf(ctx);
  const remote = endpoint ? remoteEntry(await openEndpoint(ctx, endpoint)) : undefined;
  const entry = remote ?? entryFor(spec, config, [], ctx.env);
  const generator = remote?.remote ?? (await loadModel(entry.path, loadOptionsFrom(ctx)));
  if (generator.info.notice) ctx.stderr.write(`textgen: ${generator.info.notice}\n`);
  try {
    const session = new ChatSession({ state, system, baseLayers, writer: file });
    for (const e of await session.setEngine(generator, entry.id, ctx.signal))
      ctx.stderr.write(`textgen: ${e.text}\n`);
    return await runPipedChat(ctx, session, {
      engine: generator,
      modelId: entry.id,
      sessions: sessionFiles(file, ctx.env),
    });
  } finally {
    await generator.dispose();
  }
}

async function runInteractive(
  ctx: CommandContext,
  config: UserConfig,
  session: SessionState | undefined,
  system: string | undefined,
  baseLayers: SettingsLayer[],
  file: SessionFile | undefined,
): Promise<number> {
  const endpoint = endpointOf(ctx);
  // With an endpoint the remote model is the only one on offer.
  const remote = endpoint ? remoteEntry(await openEndpoint(ctx, endpoint)) : undefined;
  const models = remote ? [remote] : cachedEntries(ctx.env);
  // The built-in model is always on offer, so a fresh install's picker is never empty.
  const builtin = embeddedModelDir();
  if (!remote && existsSync(builtin) && !models.some((m) => m.path === builtin))
    models.push(folderEntry('default', builtin));
  let initialModel =
    remote ??
    (ctx.values.model ? entryFor(ctx.values.model as string, config, models, ctx.env) : undefined);
  if (!initialModel && session?.model) {
    // A resumed session whose model is gone falls back to the picker rather than failing.
    try {
      initialModel = entryFor(session.model, config, models, ctx.env);
    } catch (error) {
      ctx.stderr.write(
        `textgen: the session's model ${session.model} cannot be opened (${(error as Error).message}); pick another.\n`,
      );
    }
  }
  if (initialModel && !models.some((m) => m.path === initialModel.path))
    models.unshift(initialModel);
  const open: TextGenerator[] = [];
  const writes: Array<Promise<void>> = [];
  let closed = false;
  const { runChatApp } = await import('../ui/render-chat.js');
  try {
    await runChatApp(
      {
        models,
        initialModel,
        lastModelId: config.lastModel ?? config.defaultModel,
        openModel: async (entry) => {
          const generator = remote?.remote ?? (await loadModel(entry.path, loadOptionsFrom(ctx)));
          open.push(generator);
          // Quitting while a model loads: nothing will dispose it later, so do it now.
          if (closed) await generator.dispose();
          return generator;
        },
        // Remembering the pick is a convenience: a config that cannot be written must not end the chat.
        onModelChosen: (entry) =>
          void writes.push(rememberLastModel(entry.id, ctx.env).catch(() => undefined)),
        sessions: sessionFiles(file, ctx.env),
        writer: file,
        baseLayers,
        initialSession: session,
        system,
      },
      {
        stdin: ctx.stdin,
        stdout: ctx.stdout as NodeJS.WriteStream,
        stderr: ctx.stderr as NodeJS.WriteStream,
      },
    );
  } finally {
    closed = true;
    // The app disposes a model it replaces; disposing it again here is harmless.
    await Promise.all([...writes, ...open.map((g) => g.dispose().catch(() => undefined))]);
  }
  if (file && existsSync(file.location))
    ctx.stderr.write(
      `textgen: session saved as ${sessionName(file.location)} (resume with \`textgen chat --continue\`)\n`,
    );
  return 0;
}
