/**
 * `textgen serve`: parses flags, loads the models with continuous batching and starts the
 * OpenAI-compatible server (server/). It runs until Ctrl-C; one line per request goes to stderr.
 */
import { basename } from 'node:path';
import { UsageError } from '../generation/errors.js';
import { loadModel, type TextGenerator } from '../generation/index.js';
import { resolveModel } from '../models-cache/resolve.js';
import { listCachedModels } from '../models-cache/scan.js';
import { checkBind, startServer, type RequestLog } from '../server/index.js';
import type { Command } from './command.js';
import { intFlag, loadOptionsFrom, MODEL_FLAGS } from './model-options.js';
import { configuredDefaultModel } from './user-settings.js';

/** Rows decoded together by default. */
const DEFAULT_PARALLEL = 4;
/** Requests queued behind the batch by default, per model. */
const DEFAULT_MAX_QUEUE = 64;

/** The serve command. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve models over an OpenAI-compatible HTTP API.',
  usage:
    'textgen serve [--model ID ...] [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--parallel N] [--max-queue N] [--cors-origin O]',
  allowPositionals: false,
  options: {
    ...MODEL_FLAGS,
    model: {
      ...MODEL_FLAGS.model,
      multiple: true,
      description:
        'A model to serve (repeatable; the first is the default). Other cached models load on first request.',
    },
    host: {
      type: 'string',
      valueName: 'ADDR',
      description: 'Address to listen on (default 127.0.0.1; others need --api-key).',
    },
    port: { type: 'string', valueName: 'N', description: 'Port (default 8080; 0: any free port).' },
    'api-key': {
      type: 'string',
      valueName: 'KEY',
      description: 'Require "Authorization: Bearer KEY" (also TEXTGEN_API_KEY).',
    },
    parallel: {
      type: 'string',
      valueName: 'N',
      description: `Requests decoded together as rows of one batch (default ${DEFAULT_PARALLEL}).`,
    },
    'max-queue': {
      type: 'string',
      valueName: 'N',
      description: `Requests waiting per model before 503 (default ${DEFAULT_MAX_QUEUE}).`,
    },
    'cors-origin': {
      type: 'string',
      valueName: 'ORIGIN',
      description: 'Send CORS headers to this browser origin (or *); none by default.',
    },
  },
  async run(ctx) {
    const parallel = intFlag(ctx.values, 'parallel', 1) ?? DEFAULT_PARALLEL;
    const maxQueue = intFlag(ctx.values, 'max-queue', 0) ?? DEFAULT_MAX_QUEUE;
    const port = intFlag(ctx.values, 'port', 0) ?? 8080;
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}.`);
    const apiKey = (ctx.values['api-key'] as string | undefined) ?? ctx.env.TEXTGEN_API_KEY;
    checkBind((ctx.values.host as string | undefined) ?? '127.0.0.1', apiKey);
    const options = { ...loadOptionsFrom(ctx), parallel };
    const specs = (ctx.values.model as string[] | undefined) ?? [undefined];
    const configured = configuredDefaultModel(ctx.env);
    const served: Array<{ name: string; generator: TextGenerator }> = [];
    try {
      for (const spec of specs) {
        const resolved = resolveModel(spec, { env: ctx.env, configuredDefault: configured });
        // A folder is served under its folder name: clients never see or send paths.
        const name =
          resolved.revision || resolved.id === 'default' ? resolved.id : basename(resolved.dir);
        if (served.some((s) => s.name === name))
          throw new UsageError(`The model name ${name} is given twice.`);
        const generator = await loadModel(resolved.dir, options);
        served.push({ name, generator });
        if (generator.info.notice) ctx.stderr.write(`textgen: ${generator.info.notice}\n`);
      }
    } catch (error) {
      await Promise.all(served.map((s) => s.generator.dispose()));
      throw error;
    }
    const usable = () =>
      listCachedModels(ctx.env)
        .filter((m) => !m.problem && m.task)
        .map((m) => ({ id: m.id, contextLength: m.contextLength }));
    const server = await startServer({
      host: ctx.values.host as string | undefined,
      port,
      apiKey,
      corsOrigin: ctx.values['cors-origin'] as string | undefined,
      models: {
        served,
        maxQueue,
        cached: usable,
        load: (id) => loadModel(resolveModel(id, { env: ctx.env }).dir, options),
      },
    }).catch(async (error) => {
      await Promise.all(served.map((s) => s.generator.dispose()));
      throw error;
    });
    const mode = served[0].generator.batchStatus?.()?.mode ?? 'sequential';
    ctx.stderr.write(
      `textgen: serving ${served.map((s) => s.name).join(', ')} at ${server.url}/v1 (${mode} batching, ${parallel} rows, queue ${maxQueue}${apiKey ? ', API key required' : ''})\n`,
    );
    server.events.on('request', (r: RequestLog) => ctx.stderr.write(`${formatLog(r)}\n`));
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    ctx.stderr.write('textgen: stopping the server\n');
    await server.close();
    return 0;
  },
};

/** One access-log line: method, path, status, model, finish reason and time. */
function formatLog(r: RequestLog): string {
  const parts = [r.method, r.path, String(r.status)];
  if (r.model) parts.push(r.model);
  if (r.reason) parts.push(r.reason);
  parts.push(`${Math.round(r.ms)} ms`);
  return `textgen: ${parts.join(' ')}`;
}
