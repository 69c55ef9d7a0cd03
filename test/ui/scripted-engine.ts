// A scripted event source for the TUI tests: each generate() call streams the next scripted reply
// token by token (with a delay, so tests can act mid-reply) and honours the AbortSignal between
// tokens, as the core does. One "token" per character keeps context counting easy to follow.
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import type { GenerationEvent, GenerationStats } from '../../generation/events.js';
import type { ChatRequest } from '../../generation/chat/chat-turn.js';
import type { AppEngine } from '../../ui/types.js';

export const LLAMA2_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'system' %}{{ '<<SYS>>' + message['content'] + '<</SYS>>' }}{% else %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}";

export interface ScriptedOptions {
  replies: string[][];
  delayMs?: number;
  contextLength?: number;
  chatTemplate?: string;
}

export class ScriptedEngine implements AppEngine {
  readonly requests: ChatRequest[] = [];
  /** generate() calls whose stream the consumer has read to the end. */
  completed = 0;
  readonly info;
  disposed = false;
  private readonly replies: string[][];
  private readonly delayMs: number;

  constructor(options: ScriptedOptions) {
    this.replies = [...options.replies];
    this.delayMs = options.delayMs ?? 5;
    this.info = {
      task: 'text-generation' as const,
      chatTemplate: options.chatTemplate,
      specialTokens: { bos: '<s>', eos: '</s>' },
      contextLength: options.contextLength ?? 4096,
      device: 'cpu',
      dtype: 'fp32',
      architecture: 'LlamaForCausalLM',
      generationDefaults: {},
    };
  }

  async tokenize(text: string): Promise<number[]> {
    return [...text].map((c) => c.codePointAt(0)!);
  }

  async *generate(request: ChatRequest): AsyncGenerator<GenerationEvent> {
    this.requests.push(request);
    const tokens = this.replies.shift() ?? ['(no script)'];
    let text = '';
    let reason: 'eos' | 'aborted' = 'eos';
    let count = 0;
    for (const piece of tokens) {
      await new Promise((r) => setTimeout(r, this.delayMs));
      if (request.signal?.aborted) {
        reason = 'aborted';
        break;
      }
      text += piece;
      count++;
      yield { type: 'token', sequence: 0, id: count, text: piece };
    }
    const promptTokens = [...request.prompt].length;
    const stats: GenerationStats = {
      promptTokens,
      cachedTokens: 0,
      completionTokens: count,
      ttftMs: 12,
      prefillMs: 10,
      decodeMs: 20,
      promptTokensPerSecond: 1000,
      tokensPerSecond: 50,
      contextUsed: promptTokens + count,
      contextLength: this.info.contextLength,
    };
    yield {
      type: 'done',
      reason,
      sequences: [{ text, token_ids: [], finish_reason: reason }],
      stats,
    };
    this.completed++;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/**
 * Waits until `check` stops throwing, re-checking after each render (the condition is what the test
 * waits for, never a fixed time). `timeoutMs` only bounds a test that would otherwise hang, and is
 * generous because the machine may be busy; on timeout the last error is thrown.
 */
export async function waitFor(check: () => void, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() - start > timeoutMs) throw error;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** What ink-testing-library's stdin is: an emitter Ink reads from on 'readable'. */
type TestStdin = EventEmitter & { write: (data: string) => void };

/**
 * Resolves once Ink reads keys from `stdin` (its 'readable' listener is attached when the first
 * useInput goes live, in an effect after the first render): keys written earlier would be lost.
 */
export function inputReady(stdin: TestStdin): Promise<void> {
  if (stdin.listenerCount('readable') > 0) return Promise.resolve();
  return new Promise((resolve) => {
    const onListener = (event: string | symbol) => {
      if (event !== 'readable') return;
      stdin.off('newListener', onListener);
      // 'newListener' fires just before the listener is added; the effects of that commit follow.
      setImmediate(resolve);
    };
    stdin.on('newListener', onListener);
  });
}

/**
 * Resolves once React has run the effects of the last committed render. A view that mounts (the
 * chat input after the picker closes) subscribes to keys in such an effect, after its first frame is
 * on screen; React runs those effects from its scheduler's queued check-phase callbacks, which run
 * before ones queued later, so two turns of setImmediate see them done.
 */
export async function effectsFlushed(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Resolves once Ink has stopped reading `stdin` (the app exited and released the input). */
export async function inputReleased(stdin: TestStdin): Promise<void> {
  await waitFor(() =>
    assert.equal(stdin.listenerCount('readable'), 0, 'Ink still reads the keyboard'),
  );
}

export const KEYS = {
  enter: '\r',
  up: '\u001B[A',
  down: '\u001B[B',
  tab: '\t',
  ctrlC: '\u0003',
  ctrlD: '\u0004',
  backspace: '\u007F',
  esc: '\u001B',
  altEnter: '\u001B\r',
};
