/**
 * Turns what OpenAI-compatible engines answer on failure into textgen's typed errors, whatever the
 * engine's error shape: OpenAI's {"error": {...}}, older vLLM's top-level {"message"}, ollama's
 * {"error": "..."}, llama.cpp's {"error": {"type": "exceed_context_size_error", "n_ctx"}}, TGI's
 * {"error", "error_type"}. A context overflow keeps the numbers the engine gave.
 */
import { ExitCode, InputError, ModelError, TextgenError, UsageError } from '../errors.js';

/** The message and any numbers an engine put in its error body. */
export interface EngineError {
  message: string;
  code?: string;
  type?: string;
  /** llama.cpp's fields for a context overflow. */
  promptTokens?: number;
  contextLength?: number;
}

/** Reads an error body of any of the known shapes (or plain text). */
export function readEngineError(text: string): EngineError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, 300) || 'no details' };
  }
  const b = (body ?? {}) as Record<string, unknown>;
  const inner = (typeof b.error === 'object' && b.error !== null ? b.error : b) as Record<string, unknown>; // prettier-ignore
  const message =
    (typeof b.error === 'string' && b.error) ||
    (typeof inner.message === 'string' && inner.message) ||
    (typeof b.detail === 'string' && b.detail) ||
    text.slice(0, 300);
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    message,
    code: inner.code === undefined || inner.code === null ? undefined : String(inner.code),
    type: typeof inner.type === 'string' ? inner.type : (b.error_type as string | undefined),
    promptTokens: num(inner.n_prompt_tokens),
    contextLength: num(inner.n_ctx),
  };
}

/** Context-overflow numbers from an engine's message (vLLM's, TGI's and textgen's wording). */
function overflowNumbers(e: EngineError): { prompt?: number; context?: number } | undefined {
  const text = e.message;
  const vllm = /maximum context length is (\d+) tokens.*?(?:requested|have) (\d+) tokens/is.exec(text); // prettier-ignore
  if (vllm) return { context: Number(vllm[1]), prompt: Number(vllm[2]) };
  const tgi = /must be <= (\d+)\. Given: (\d+)/i.exec(text);
  if (tgi) return { context: Number(tgi[1]), prompt: Number(tgi[2]) };
  const textgen = /prompt is (\d+) tokens; the model's context is (\d+) tokens/i.exec(text);
  if (textgen) return { prompt: Number(textgen[1]), context: Number(textgen[2]) };
  if (
    e.type === 'exceed_context_size_error' ||
    e.code === 'context_length_exceeded' ||
    /context (size|length|window)/i.test(text)
  )
    // prettier-ignore
    return { prompt: e.promptTokens, context: e.contextLength };
  return undefined;
}

/** An error answered with HTTP `status` by `endpoint` for `model`, as a typed textgen error. */
export function normaliseError(
  status: number,
  body: string,
  where: { endpoint: string; model?: string; models?: string[]; retries?: number; retryAfter?: string }, // prettier-ignore
): TextgenError {
  const e = readEngineError(body);
  const at = where.endpoint;
  if (status === 401 || status === 403)
    return new TextgenError(`${at} refused the API key (${status}): ${e.message}`, {
      exitCode: ExitCode.usage,
      hint: 'Pass --api-key KEY or set TEXTGEN_API_KEY.',
    });
  const modelMissing = /model/i.test(e.message) && /not (found|exist)|does not exist|unknown/i.test(e.message); // prettier-ignore
  if (status === 404 && (modelMissing || e.code === 'model_not_found'))
    return new TextgenError(`${at} does not serve the model ${where.model ?? ''}: ${e.message}`, {
      exitCode: ExitCode.notFound,
      hint: where.models?.length ? `It serves: ${where.models.join(', ')}.` : 'Pick one with --model (GET /v1/models lists them).', // prettier-ignore
    });
  if (status === 404)
    return new ModelError(`${at} has no such route (404): ${e.message}`, 'Is --endpoint the base URL of an OpenAI-compatible API (ending in /v1)?'); // prettier-ignore
  if (status === 429 || status === 503) {
    const retried = where.retries ? `; retried ${where.retries} time${where.retries === 1 ? '' : 's'}` : ''; // prettier-ignore
    return new TextgenError(`${at} is busy (${status})${retried}: ${e.message}`, {
      exitCode: ExitCode.network,
      hint: `Try again later${where.retryAfter ? ` (the server asks for ${where.retryAfter} s)` : ''}.`,
    });
  }
  const overflow = status < 500 ? overflowNumbers(e) : undefined;
  if (overflow) {
    const numbers =
      overflow.prompt !== undefined && overflow.context !== undefined
        ? `: ${overflow.prompt} tokens asked for, the context holds ${overflow.context}`
        : overflow.context !== undefined
          ? `: the context holds ${overflow.context} tokens`
          : '';
    return new InputError(`The prompt does not fit the remote model's context${numbers}.`, 'Shorten the prompt, or lower --max-new-tokens.'); // prettier-ignore
  }
  if (status >= 400 && status < 500) return new UsageError(`${at} rejected the request (${status}): ${e.message}`); // prettier-ignore
  return new TextgenError(`${at} failed (${status}): ${e.message}`, { exitCode: ExitCode.network });
}

/** A fetch that never reached the server (refused, DNS, TLS), as a typed error. */
export function unreachable(endpoint: string, error: unknown): TextgenError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  return new TextgenError(`Cannot reach ${endpoint} (${why}).`, {
    exitCode: ExitCode.network,
    hint: 'Is the server running, and is --endpoint its base URL (e.g. http://127.0.0.1:8000/v1)?',
  });
}
