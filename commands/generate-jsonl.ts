/**
 * `textgen generate --jsonl`: one JSON object per stdin line (`{"prompt": ..., "system": ...,
 * settings}` with settings in either spelling), one JSON result per line on stdout, in input order.
 * A line that cannot be answered (bad JSON, an unknown key, a wrong type, a prompt too long) gets an
 * error object in its place and the other lines are still answered; the exit code is then that of
 * the first error. Consecutive lines with the same settings are decoded together, up to
 * --batch-size rows per ONNX run (left padding).
 */
import { AbortedError, TextgenError, UsageError } from '../generation/errors.js';
import {
  oneShotPrompt,
  randomSeed,
  resolveSettings,
  settingsFromJson,
  type GenerationEvent,
  type GenerationSettings,
  type SequenceResult,
  type SettingsLayer,
  type TextGenerator,
} from '../generation/index.js';
import type { OneShotMode } from '../generation/chat/one-shot.js';
import type { ChatMessage } from '../generation/chat/chat-template.js';
import type { CommandContext } from './command.js';
import { readStdin } from './prompt-input.js';

interface Line {
  /** 1-based line number in the input. */
  line: number;
  prompt: string;
  /** The text sent to the model (templated or raw), how to tokenize it, or a remote engine's messages. */
  input: { prompt: string; addSpecialTokens: boolean; messages?: ChatMessage[] };
  templated: boolean;
  settings: GenerationSettings;
  key: string;
}

interface Failure {
  line: number;
  error: TextgenError;
}

/** A sequence as --json and --jsonl print it: score with beam search, logprobs when asked for. */
export function sequenceJson(s: SequenceResult): Record<string, unknown> {
  return {
    text: s.text,
    token_ids: s.token_ids,
    finish_reason: s.finish_reason,
    ...(s.score === undefined ? {} : { score: s.score }),
    ...(s.logprobs === undefined ? {} : { logprobs: s.logprobs }),
  };
}

/** Sampling without a seed gets a random one here, so it can be reported (--json) and replayed. */
export function withSeed(settings: GenerationSettings): GenerationSettings {
  return settings.do_sample && settings.num_beams === 1 && settings.seed === undefined
    ? { ...settings, seed: randomSeed() }
    : settings;
}

/** The error object printed in a failed line's place. */
function errorJson(f: Failure): Record<string, unknown> {
  return {
    line: f.line,
    error: {
      message: f.error.message,
      ...(f.error.hint ? { hint: f.error.hint } : {}),
      exit_code: f.error.exitCode,
    },
  };
}

const LINE_KEYS = ['prompt', 'system'];

/** Parses one input line; throws a TextgenError naming it. */
async function parseLine(
  raw: string,
  line: number,
  generator: TextGenerator,
  base: SettingsLayer[],
  mode: OneShotMode,
  system: string | undefined,
  signal: AbortSignal,
): Promise<Line> {
  const where = `--jsonl line ${line}`;
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    throw new UsageError(
      `${where} is not valid JSON.`,
      'Each line must be an object like {"prompt": "Once upon a time", "temperature": 0}.',
    );
  }
  const fields = obj as Record<string, unknown>;
  if (!obj || typeof obj !== 'object' || Array.isArray(obj) || typeof fields.prompt !== 'string')
    throw new UsageError(`${where} has no "prompt" string.`);
  if (fields.system !== undefined && typeof fields.system !== 'string')
    throw new UsageError(`${where}: system must be a string, got ${JSON.stringify(fields.system)}`);
  const layer = settingsFromJson(obj, { where }, { skip: LINE_KEYS });
  let settings: GenerationSettings;
  try {
    settings = resolveSettings(...base, layer);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${where}: ${error.message}`, error.hint);
    throw error;
  }
  const prompt = fields.prompt;
  const built = await oneShotPrompt(generator.info, prompt, {
    mode,
    system: (fields.system as string | undefined) ?? system,
    signal,
  });
  const input = {
    prompt: built.prompt,
    addSpecialTokens: built.addSpecialTokens,
    ...(built.messages ? { messages: built.messages } : {}),
  };
  return {
    line,
    prompt,
    input,
    templated: built.templated,
    settings,
    key: JSON.stringify(settings),
  };
}

/** Groups consecutive lines with equal settings into batches of at most `size`. */
function batches(lines: Line[], size: number): Line[][] {
  const out: Line[][] = [];
  for (const line of lines) {
    const last = out[out.length - 1];
    // A remote engine's chat call carries one conversation: such lines are sent one by one.
    const joins = last && !line.input.messages && last.length < size && last[0].key === line.key;
    if (joins) last.push(line);
    else out.push([line]);
  }
  return out;
}

/** Decodes one batch; yields the done event. */
async function decode(
  generator: TextGenerator,
  group: Line[],
  settings: GenerationSettings,
  signal: AbortSignal,
): Promise<Extract<GenerationEvent, { type: 'done' }>> {
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  for await (const event of generator.generate({
    prompt: group[0].input.prompt,
    prompts: group.map((l) => l.input.prompt),
    addSpecialTokens: group[0].input.addSpecialTokens,
    ...(group.length === 1 && group[0].input.messages ? { messages: group[0].input.messages } : {}),
    settings,
    signal,
  })) {
    if (event.type === 'done') done = event;
  }
  if (!done) throw new Error('generation ended without a done event');
  return done;
}

/**
 * Runs every line and writes one result (or error object) per line to stdout, in input order.
 * Resolves 'aborted' on Ctrl-C; throws after the last line when any line failed.
 */
export async function runJsonl(
  generator: TextGenerator,
  ctx: CommandContext,
  base: SettingsLayer[],
  batchSize: number,
  template: { mode: OneShotMode; system?: string },
): Promise<'aborted' | 'ok'> {
  const outputs: Array<Line | Failure> = [];
  const rawLines = (await readStdin(ctx.stdin)).split(/\r?\n/);
  for (const [i, raw] of rawLines.entries()) {
    if (!raw.trim()) continue;
    try {
      outputs.push(
        await parseLine(raw, i + 1, generator, base, template.mode, template.system, ctx.signal),
      );
    } catch (error) {
      if (!(error instanceof TextgenError) || error instanceof AbortedError) throw error;
      outputs.push({ line: i + 1, error });
    }
  }
  const failures: Failure[] = [];
  const write = (item: Record<string, unknown>) => ctx.stdout.write(`${JSON.stringify(item)}\n`);
  let pending: Line[] = [];
  // Runs the lines parsed since the last failure, then prints the failure in its place.
  const flush = async (): Promise<'aborted' | 'ok'> => {
    for (const group of batches(pending, batchSize)) {
      if ((await runGroup(generator, ctx, group, write, failures)) === 'aborted') return 'aborted';
    }
    pending = [];
    return 'ok';
  };
  for (const item of outputs) {
    if ('error' in item) {
      if ((await flush()) === 'aborted') return 'aborted';
      failures.push(item);
      write(errorJson(item));
    } else pending.push(item);
  }
  if ((await flush()) === 'aborted') return 'aborted';
  if (failures.length > 0)
    throw new TextgenError(
      `${failures.length} of ${outputs.length} --jsonl lines failed (first: ${failures[0].error.message})`,
      {
        exitCode: failures[0].error.exitCode,
        hint: 'Their error objects are on stdout in their places; the other lines were answered.',
      },
    );
  return 'ok';
}

/**
 * Runs one batch and prints its lines. A batch that fails as a whole (a prompt too long, too much
 * memory) is retried line by line, so only the lines at fault get error objects.
 */
async function runGroup(
  generator: TextGenerator,
  ctx: CommandContext,
  group: Line[],
  write: (item: Record<string, unknown>) => void,
  failures: Failure[],
): Promise<'aborted' | 'ok'> {
  // One seed per batch (lines without a seed share the batch's RNG); reported on each line.
  const settings = withSeed(group[0].settings);
  let done;
  try {
    done = await decode(generator, group, settings, ctx.signal);
  } catch (error) {
    if (!(error instanceof TextgenError) || error instanceof AbortedError) throw error;
    if (group.length > 1) {
      for (const line of group)
        if ((await runGroup(generator, ctx, [line], write, failures)) === 'aborted')
          return 'aborted';
      return 'ok';
    }
    const failure = { line: group[0].line, error };
    failures.push(failure);
    write(errorJson(failure));
    return 'ok';
  }
  const per = done.sequences.length / group.length;
  group.forEach((line, i) => {
    const sequences = done.sequences.slice(i * per, (i + 1) * per);
    write({
      line: line.line,
      prompt: line.prompt,
      chat_template: line.templated,
      seed: settings.seed ?? null,
      sequences: sequences.map(sequenceJson),
      usage: { completion_tokens: sequences.reduce((a, s) => a + s.token_ids.length, 0) },
    });
  });
  return done.reason === 'aborted' ? 'aborted' : 'ok';
}
