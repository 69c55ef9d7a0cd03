/**
 * `textgen generate [--model ID] [PROMPT...]`: one completion, streamed to stdout. Piped stdin (or
 * `-f FILE`) is the prompt, before any PROMPT arguments; a model with a chat template gets it applied
 * (`--raw` sends the text as it is). stdout carries only the generated text, or one JSON object with
 * --json; stats (--verbose), notices and errors go to stderr.
 */
import { AbortedError, UsageError } from '../generation/errors.js';
import {
  loadModel,
  MAX_LOGPROBS,
  oneShotPrompt,
  parseSettingText,
  resolveSettings,
  warmTemplateRenderer,
  type GenerationEvent,
  type ChatMessage,
  type GenerationSettings,
  type SettingsLayer,
  type TextGenerator,
} from '../generation/index.js';
import type { Command, CommandContext } from './command.js';
import { GENERATION_FLAGS, settingsLayerFromFlags } from './flags/generation-flags.js';
import { runJsonl, sequenceJson, withSeed } from './generate-jsonl.js';
import { intFlag, loadOptionsFrom, MODEL_FLAGS } from './model-options.js';
import { resolveModelDir } from './model-resolution.js';
import { PROMPT_FLAGS, promptText, templateOptions } from './generate-prompt.js';
import { ENDPOINT_FLAGS, endpointOf, openEndpoint } from './endpoint.js';
import { readUserSettings } from './user-settings.js';
import { formatVerboseStats, timingsJson } from './stats-format.js';

/** The most prompts of a --jsonl batch. */
const MAX_BATCH = 256;

/** The generate command. */
export const generateCommand: Command = {
  name: 'generate',
  aliases: ['gen'],
  summary: 'Generate a completion for a prompt (argument or stdin).',
  usage: 'textgen generate [--model ID] [FLAGS] [-f FILE] [PROMPT...]',
  options: {
    ...MODEL_FLAGS,
    ...ENDPOINT_FLAGS,
    ...PROMPT_FLAGS,
    ...GENERATION_FLAGS,
    jsonl: {
      type: 'boolean',
      description:
        'Read one JSON object per stdin line ({"prompt": ..., settings}); write one JSON result per line.',
    },
    'batch-size': {
      type: 'string',
      valueName: 'N',
      description: `With --jsonl: prompts decoded together per ONNX run (default 8, at most ${MAX_BATCH}).`,
    },
    json: {
      type: 'boolean',
      description: 'Print one JSON object with sequences, token ids, usage and timings.',
    },
    logprobs: {
      type: 'string',
      valueName: 'N',
      description: `With --json or --jsonl: each token's log-probability and the N most likely alternatives (0..${MAX_LOGPROBS}).`,
    },
    verbose: {
      type: 'boolean',
      short: 'v',
      description: 'Print load time, TTFT and tokens/s on stderr.',
    },
  },
  async run(ctx) {
    const jsonl = ctx.values.jsonl === true;
    const batchSize = batchSizeFlag(ctx);
    const template = await templateOptions(ctx);
    const prompt = jsonl ? '' : await promptText(ctx);
    const flags: SettingsLayer = { ...settingsLayerFromFlags(ctx.values), ...logprobsFlag(ctx) };
    const endpoint = endpointOf(ctx);
    const model = endpoint ? undefined : await resolveModelDir(ctx);
    // The chat-template renderer starts while the model loads.
    if (template.mode !== 'raw' && model) warmTemplateRenderer();
    const started = performance.now();
    const generator = model
      ? await loadModel(model.dir, loadOptionsFrom(ctx))
      : await openEndpoint(ctx, endpoint!);
    const loadMs = performance.now() - started;
    if (generator.info.notice) ctx.stderr.write(`textgen: ${generator.info.notice}\n`);
    try {
      const layers = [generator.info.generationDefaults, readUserSettings(ctx.env), flags];
      if (jsonl) {
        if ((await runJsonl(generator, ctx, layers, batchSize, template)) === 'aborted')
          throw new AbortedError();
        return 0;
      }
      const settings = withSeed(resolveSettings(...layers));
      const input = await oneShotPrompt(generator.info, prompt, {
        ...template,
        signal: ctx.signal,
      });
      const done = await render(generator, ctx, input, settings);
      if (ctx.values.verbose) ctx.stderr.write(formatVerboseStats(done.stats, loadMs));
      if (ctx.values.json) {
        const out = {
          model: model?.id ?? generator.info.remote?.model,
          prompt,
          chat_template: input.templated,
          seed: settings.seed ?? null,
          sequences: done.sequences.map(sequenceJson),
          usage: {
            prompt_tokens: done.stats.promptTokens + done.stats.cachedTokens,
            completion_tokens: done.stats.completionTokens,
          },
          timings: timingsJson(done.stats, loadMs),
        };
        ctx.stdout.write(`${JSON.stringify(out)}\n`);
      }
      if (done.reason === 'aborted') throw new AbortedError();
      return 0;
    } finally {
      await generator.dispose();
    }
  },
};

/** --batch-size N (1..MAX_BATCH; rows × sequences are checked against memory by the core). */
function batchSizeFlag(ctx: CommandContext): number {
  const n = intFlag(ctx.values, 'batch-size', 1) ?? 8;
  if (n > MAX_BATCH)
    throw new UsageError(
      `--batch-size must be an integer in 1..${MAX_BATCH}, got '${String(ctx.values['batch-size'])}'.`,
    );
  return n;
}

/** --logprobs N as a settings layer; it only makes sense where JSON is printed. */
function logprobsFlag(ctx: CommandContext): SettingsLayer {
  const raw = ctx.values.logprobs;
  if (typeof raw !== 'string') return {};
  const n = parseSettingText('logprobs', [raw], { flags: true }) as number;
  if (n > 0 && !ctx.values.json && !ctx.values.jsonl)
    throw new UsageError(
      '--logprobs needs --json or --jsonl (log-probabilities are printed as JSON).',
    );
  return { logprobs: n };
}

type Done = Extract<GenerationEvent, { type: 'done' }>;

/** Streams sequence 0 to stdout as it is generated (plain mode), and returns the done event. */
async function render(
  generator: TextGenerator,
  ctx: CommandContext,
  input: { prompt: string; addSpecialTokens: boolean; messages?: ChatMessage[] },
  settings: GenerationSettings,
): Promise<Done> {
  const stream =
    !ctx.values.json && settings.num_return_sequences === 1 && settings.num_beams === 1;
  let done: Done | undefined;
  let wroteText = false;
  for await (const event of generator.generate({ ...input, settings, signal: ctx.signal })) {
    if (event.type === 'token' && stream && event.sequence === 0 && event.text) {
      ctx.stdout.write(event.text);
      wroteText = true;
    } else if (event.type === 'done') {
      done = event;
    } else if (event.type === 'notice') {
      ctx.stderr.write(`textgen: warning: ${event.message}\n`);
    }
  }
  if (!done) throw new Error('generation ended without a done event');
  if (!ctx.values.json && !stream) {
    ctx.stdout.write(done.sequences.map((s) => s.text).join('\n\n'));
    wroteText = true;
  }
  // A final newline for people, and before --verbose stats on stderr (so `2>&1` never glues them
  // to the text); otherwise piped output is exactly the generated text.
  if (wroteText && (ctx.stdout.isTTY || ctx.values.verbose)) ctx.stdout.write('\n');
  return done;
}
