/**
 * Parses /v1/completions and /v1/chat/completions bodies into one call shape: prompts (text or token
 * ids) or chat messages, a settings layer read through the shared OpenAI field table, and the output
 * options (stream, usage, logprobs, token ids). Fields textgen does not support yet (tools, structured
 * output, echo, best_of, suffix) are refused with 400 rather than silently ignored.
 */
import {
  settingsFromFields,
  MAX_LOGPROBS,
  type ChatMessage,
  type FieldLimits,
  type SettingsLayer,
} from '../generation/index.js';
import { badField } from './http-errors.js';

/** One parsed completion or chat call. */
export interface CompletionCall {
  kind: 'completion' | 'chat';
  /** The requested model name (undefined: the default model). */
  model?: string;
  /** Completions: one entry per prompt. */
  prompts: Array<string | number[]>;
  /** Chat: the conversation. */
  messages?: ChatMessage[];
  /** Settings from the request's fields (the caller adds defaults). */
  layer: SettingsLayer;
  /** Choices per prompt. */
  n: number;
  stream: boolean;
  includeUsage: boolean;
  /** Alternatives to report per token; undefined: no logprobs. 0: only the chosen token's. */
  logprobs?: number;
  /** vLLM's return_token_ids: each choice also carries its token ids. */
  returnTokenIds: boolean;
}

function isIdList(value: unknown): value is number[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((x) => Number.isSafeInteger(x) && x >= 0)
  );
}

/** The prompt field: a string, a list of strings, a token-id list, or a list of those. */
function readPrompts(value: unknown, limits: FieldLimits): Array<string | number[]> {
  let prompts: Array<string | number[]>;
  if (typeof value === 'string' || isIdList(value)) prompts = [value];
  else if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((p) => typeof p === 'string' || isIdList(p))
  )
    prompts = value;
  else throw badField('prompt', "'prompt' must be a string, a list of strings or token ids.");
  if (prompts.length > limits.n)
    throw badField('prompt', `At most ${limits.n} prompts per request.`);
  return prompts;
}

const ROLES: Record<string, ChatMessage['role']> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
};

/** Message content: a string or text parts; other parts (images, audio) are not supported. */
function readContent(content: unknown, at: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (
          part &&
          typeof part === 'object' &&
          part.type === 'text' &&
          typeof part.text === 'string'
        )
          return part.text as string;
        throw badField(`messages[${at}].content`, 'Only text content parts are supported.');
      })
      .join('');
  }
  throw badField(`messages[${at}].content`, 'Message content must be a string or text parts.');
}

function readMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0)
    throw badField('messages', "'messages' must be a non-empty list.");
  return value.map((m, i) => {
    const role = m && typeof m === 'object' ? ROLES[String(m.role)] : undefined;
    if (!role)
      throw badField(
        `messages[${i}].role`,
        'Roles must be system, developer, user or assistant (tool messages are not supported yet).',
      );
    if (m.tool_calls)
      throw badField(`messages[${i}].tool_calls`, 'Tool calls are not supported yet.');
    return { role, content: readContent(m.content, i) };
  });
}

/** Fields that would change the output's shape or meaning in ways textgen does not implement. */
function refuseUnsupported(body: Record<string, unknown>): void {
  const tools = body.tools ?? body.functions;
  if (Array.isArray(tools) ? tools.length > 0 : tools !== undefined && tools !== null)
    throw badField(
      body.tools ? 'tools' : 'functions',
      'Tools and function calling are not supported yet.',
    );
  const format = body.response_format as { type?: unknown } | undefined | null;
  if (format && format.type !== 'text')
    throw badField('response_format', 'Only response_format {"type": "text"} is supported yet.');
  if (body.echo === true) throw badField('echo', 'echo is not supported.');
  if (typeof body.best_of === 'number' && body.best_of > 1)
    throw badField('best_of', 'best_of is not supported.');
  if (typeof body.suffix === 'string' && body.suffix.length > 0)
    throw badField('suffix', 'suffix is not supported.');
}

function readLogprobs(
  body: Record<string, unknown>,
  kind: CompletionCall['kind'],
): number | undefined {
  if (kind === 'completion') {
    const v = body.logprobs;
    if (v === undefined || v === null) return undefined;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_LOGPROBS)
      throw badField('logprobs', `'logprobs' must be an integer in 0..${MAX_LOGPROBS}.`);
    return v as number;
  }
  const top = body.top_logprobs;
  if (
    top !== undefined &&
    top !== null &&
    (!Number.isInteger(top) || (top as number) < 0 || (top as number) > MAX_LOGPROBS)
  )
    throw badField('top_logprobs', `'top_logprobs' must be an integer in 0..${MAX_LOGPROBS}.`);
  if (body.logprobs !== true) {
    if (typeof top === 'number' && top > 0)
      throw badField('top_logprobs', "'top_logprobs' needs 'logprobs': true.");
    return undefined;
  }
  return (top as number | undefined) ?? 0;
}

/** Parses a request body for `kind`; throws HttpError 400 naming the first bad field. */
export function parseCall(
  body: Record<string, unknown>,
  kind: CompletionCall['kind'],
  limits: FieldLimits,
): CompletionCall {
  refuseUnsupported(body);
  if (body.model !== undefined && typeof body.model !== 'string')
    throw badField('model', "'model' must be a string.");
  const layer = settingsFromFields(body, limits);
  const options = body.stream_options as { include_usage?: unknown } | undefined | null;
  const call: CompletionCall = {
    kind,
    model: body.model as string | undefined,
    prompts: [],
    layer,
    n: layer.num_return_sequences ?? 1,
    stream: body.stream === true,
    includeUsage: body.stream === true && options?.include_usage === true,
    logprobs: readLogprobs(body, kind),
    returnTokenIds: body.return_token_ids === true,
  };
  if (kind === 'chat') call.messages = readMessages(body.messages);
  else call.prompts = readPrompts(body.prompt, limits);
  if (call.prompts.length * call.n > limits.n)
    throw badField('n', `At most ${limits.n} choices per request (prompts × n).`);
  return call;
}
