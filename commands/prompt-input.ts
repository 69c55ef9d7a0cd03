/**
 * Reads the prompt the way ollama and llm do: piped stdin first, then the PROMPT arguments.
 */
import { InputError, UsageError } from '../generation/errors.js';

/** Reads all of stdin as strict UTF-8 (invalid bytes are an input error, not silent U+FFFD). */
export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new InputError(
      'stdin is not valid UTF-8 text.',
      'Convert the input to UTF-8 (e.g. with iconv) and try again.',
    );
  }
}

/** The prompt from stdin (when piped) and the positional arguments. */
export async function collectPrompt(
  positionals: string[],
  stdin: NodeJS.ReadStream,
): Promise<string> {
  const args = positionals.join(' ');
  const piped = stdin.isTTY ? undefined : await readStdin(stdin);
  // An explicit empty prompt ("" or empty stdin) is allowed: the model starts from BOS alone.
  if (piped === undefined && positionals.length === 0) {
    throw new UsageError(
      'No prompt given.',
      'Pass a prompt (`textgen generate "Once upon a time"`) or pipe text on stdin.',
    );
  }
  return [piped?.replace(/\r?\n$/, ''), args]
    .filter((s) => s !== undefined && s.length > 0)
    .join('\n');
}
