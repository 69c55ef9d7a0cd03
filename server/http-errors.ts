/**
 * HTTP errors in OpenAI's envelope, {"error": {"message", "type", "param", "code"}}, and the mapping
 * from the core's typed errors onto status codes: a bad setting or prompt is the client's (400), an
 * input longer than the context is 400 with code context_length_exceeded, anything else is 500.
 */
import { FieldError, InputError, TextgenError, UsageError } from '../generation/index.js';

/** The error body OpenAI clients parse. */
export interface ErrorEnvelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error answered with `status` and OpenAI's envelope. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly options: {
      type?: string;
      param?: string;
      code?: string;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The JSON body. */
  envelope(): ErrorEnvelope {
    return {
      error: {
        message: this.message,
        type: this.options.type ?? defaultType(this.status),
        param: this.options.param ?? null,
        code: this.options.code ?? null,
      },
    };
  }
}

function defaultType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429 || status === 503) return 'server_overloaded';
  return status < 500 ? 'invalid_request_error' : 'server_error';
}

/** A 400 for a request field. */
export function badField(param: string, message: string): HttpError {
  return new HttpError(400, message, { param, code: 'invalid_value' });
}

/** Any error as an HttpError (unexpected ones become a 500 without internals). */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof FieldError) return badField(error.field, error.message);
  if (error instanceof InputError) {
    const overflow = /context/i.test(error.message);
    return new HttpError(400, error.message, {
      code: overflow ? 'context_length_exceeded' : 'invalid_prompt',
    });
  }
  if (error instanceof UsageError) return new HttpError(400, error.message);
  if (error instanceof TextgenError) return new HttpError(500, error.message);
  return new HttpError(500, 'The server failed to generate a reply.');
}
