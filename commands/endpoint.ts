/**
 * Client mode for generate and chat: `--endpoint URL [--api-key KEY]` (or the config's `endpoint`)
 * generates with an OpenAI-compatible server instead of a local model. The remote engine is a
 * TextGenerator like a local one, so the commands only choose which one to open here.
 */
import { connectEndpoint, type TextGenerator } from '../generation/index.js';
import type { CommandContext, OptionSpec } from './command.js';
import { readUserConfig } from './user-config.js';

/** --endpoint and --api-key. */
export const ENDPOINT_FLAGS: Record<string, OptionSpec> = {
  endpoint: {
    type: 'string',
    valueName: 'URL',
    description:
      'Generate with an OpenAI-compatible server (textgen serve, vLLM, llama.cpp, ollama, TGI); --model names its model. Also config "endpoint".',
  },
  'api-key': {
    type: 'string',
    valueName: 'KEY',
    description: 'API key for --endpoint (also TEXTGEN_API_KEY).',
  },
};

/** Flags that only mean something for a local model. */
const LOCAL_FLAGS = ['dtype', 'device', 'device-id', 'threads'];

/** The endpoint to use, if any: --endpoint, else the config's. */
export function endpointOf(ctx: CommandContext): string | undefined {
  return (ctx.values.endpoint as string | undefined) ?? readUserConfig(ctx.env).endpoint;
}

/** Connects to `endpoint`; --model names the remote model. Local-only flags get a one-line warning. */
export async function openEndpoint(ctx: CommandContext, endpoint: string): Promise<TextGenerator> {
  const unused = LOCAL_FLAGS.filter((f) => ctx.values[f] !== undefined);
  if (unused.length)
    ctx.stderr.write(
      `textgen: warning: ${unused.map((f) => `--${f}`).join(', ')} ignored with --endpoint (the server decides)\n`,
    );
  const model = ctx.values.model;
  return connectEndpoint(endpoint, {
    apiKey: (ctx.values['api-key'] as string | undefined) ?? ctx.env.TEXTGEN_API_KEY,
    model: typeof model === 'string' ? model : undefined,
  });
}
