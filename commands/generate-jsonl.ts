/**
 * `textgen generate --jsonl`: one JSON object per stdin line (`{"prompt": ..., optional settings}` with
 * Hugging Face setting names), one JSON result per line on stdout, in input order. Consecutive lines
 * with the same settings are decoded together, up to --batch-size rows per ONNX run (left padding).
 */
import { UsageError } from '../generation/errors.js';
import {
  resolveSettings,
  type GenerationEvent,
  type GenerationSettings,
  type SequenceResult,
  type SettingsLayer,
  type TextGenerator,
} from '../generation/index.js';
import type { CommandContext } from './command.js';
import { readStdin } from './prompt-input.js';

interface Line {
  prompt: string;
  settings: GenerationSettings;
  key: string;
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

/** Parses the JSONL input; a bad line is a usage error naming its line number. */
function parseLines(text: string, base: SettingsLayer[]): Line[] {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      throw new UsageError(
        `--jsonl line ${i + 1} is not valid JSON.`,
        'Each line must be an object like {"prompt": "Once upon a time", "temperature": 0}.',
      );
    }
    if (
      !obj ||
      typeof obj !== 'object' ||
      typeof (obj as { prompt?: unknown }).prompt !== 'string'
    ) {
      throw new UsageError(`--jsonl line ${i + 1} has no "prompt" string.`);
    }
    const { prompt, ...overrides } = obj as Record<string, unknown>;
    const settings = resolveSettings(...base, overrides as SettingsLayer);
    lines.push({ prompt: prompt as string, settings, key: JSON.stringify(settings) });
  });
  return lines;
}

/** Groups consecutive lines with equal settings into batches of at most `size`. */
function batches(lines: Line[], size: number): Line[][] {
  const out: Line[][] = [];
  for (const line of lines) {
    const last = out[out.length - 1];
    if (last && last.length < size && last[0].key === line.key) last.push(line);
    else out.push([line]);
  }
  return out;
}

/** Runs every line and writes one result per line to stdout. */
export async function runJsonl(
  generator: TextGenerator,
  ctx: CommandContext,
  base: SettingsLayer[],
  batchSize: number,
): Promise<'aborted' | 'ok'> {
  const lines = parseLines(await readStdin(ctx.stdin), base);
  for (const group of batches(lines, batchSize)) {
    const settings = group[0].settings;
    let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
    for await (const event of generator.generate({
      prompt: group[0].prompt,
      prompts: group.map((l) => l.prompt),
      settings,
      signal: ctx.signal,
    })) {
      if (event.type === 'done') done = event;
    }
    if (!done) throw new Error('generation ended without a done event');
    const per = done.sequences.length / group.length;
    group.forEach((line, i) => {
      const sequences = done!.sequences.slice(i * per, (i + 1) * per);
      const result = {
        prompt: line.prompt,
        sequences: sequences.map(sequenceJson),
        usage: { completion_tokens: sequences.reduce((a, s) => a + s.token_ids.length, 0) },
      };
      ctx.stdout.write(`${JSON.stringify(result)}\n`);
    });
    if (done.reason === 'aborted') return 'aborted';
  }
  return 'ok';
}
