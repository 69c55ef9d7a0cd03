/**
 * Server-sent events as OpenAI streams them: each event is one `data: {json}` line and a blank line,
 * the stream ends with `data: [DONE]`, and an error after the headers went out is an event whose JSON
 * has an `error` key (the OpenAI SDK throws on it).
 */
import type { ServerResponse } from 'node:http';
import type { ErrorEnvelope } from './http-errors.js';

/** One response being streamed. */
export class SseStream {
  constructor(private readonly response: ServerResponse) {}

  /** Sends the status line and headers. */
  open(headers: Record<string, string> = {}): void {
    this.response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      ...headers,
    });
    this.response.flushHeaders();
  }

  /** Whether the client is still there. */
  get live(): boolean {
    return !this.response.destroyed && !this.response.writableEnded;
  }

  /** Sends one JSON event. */
  send(data: object): void {
    if (this.live) this.response.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends an error event, then ends the stream. */
  fail(error: ErrorEnvelope): void {
    this.send(error);
    this.close();
  }

  /** Ends the stream with `data: [DONE]`. */
  done(): void {
    if (this.live) this.response.end('data: [DONE]\n\n');
  }

  /** Ends the stream without [DONE]. */
  close(): void {
    if (this.live) this.response.end();
  }
}
