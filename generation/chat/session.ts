/**
 * The chat session: one object owns a conversation's turn loop — fit the context, build the prompt,
 * stream the reply, notices, autosave — and emits typed events that the TUI and piped chat render.
 *
 * The history is complete and only grows (until /clear); what the model sees is a view that starts
 * at `viewStart`, moved forward when the context fills and recomputed when the model changes. Every
 * change is appended to the session log as records (session-log.ts), never rewritten, so dropped
 * turns stay on disk. Nothing is written until the first turn completes, so a chat that never got
 * a reply leaves no file.
 */
import { AbortedError, InputError } from '../errors.js';
import type { FinishReason, GenerationStats } from '../events.js';
import { resolveSettings, type GenerationSettings, type SettingsLayer } from '../settings.js';
import type { ChatMessage } from './chat-template.js';
import { prepareTurn, type ChatEngine } from './chat-turn.js';
import { fitView } from './context-window.js';
import { buildPrompt, chatModeOf, type Conversation } from './conversation.js';
import type { SessionRecord, SessionState } from './session-log.js';

/** What a session emits while it works; front-ends render these and nothing else. */
export type ChatEvent =
  /**
   * Something the user should know: turns left out of the view, a refit after a model change, or
   * (`engine`) what the engine said about the call (a remote engine ignoring a setting).
   */
  | { type: 'notice'; text: string; engine?: boolean }
  /** A failure that does not end the chat (autosave). */
  | { type: 'error'; text: string }
  /** A piece of the reply as it streams. */
  | { type: 'token'; text: string }
  /** The finished (or stopped) reply, now part of the history. */
  | { type: 'reply'; text: string; reason: FinishReason; stats: GenerationStats };

/** A loaded model as the session uses it (the core's TextGenerator satisfies it). */
export type SessionEngine = ChatEngine & {
  readonly info: ChatEngine['info'] & { generationDefaults?: SettingsLayer };
};

/** Where records go: appended to the session file (commands/chat-sessions.ts). */
export interface SessionWriter {
  append(records: SessionRecord[]): Promise<void>;
}

/** How a session starts. */
export interface ChatSessionOptions {
  engine?: SessionEngine;
  modelId?: string;
  /** A resumed session's state. */
  state?: SessionState;
  /** A system prompt that replaces the resumed one (--system). */
  system?: string;
  /** Settings layers below the session's /set overrides: the user config, then the flags. */
  baseLayers?: SettingsLayer[];
  writer?: SessionWriter;
}

function droppedText(n: number): string {
  return `Context full: dropped the ${n} oldest turn${n === 1 ? '' : 's'} from the model's view (the system prompt is kept).`;
}

/** One chat conversation and its turn loop. */
export class ChatSession {
  private engine?: SessionEngine;
  private modelId?: string;
  private history: ChatMessage[];
  private systemText?: string;
  private overrideLayer: SettingsLayer;
  private readonly baseLayers: SettingsLayer[];
  private readonly writer?: SessionWriter;
  private start = 0;
  private pending: SessionRecord[] = [];
  private written = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(options: ChatSessionOptions = {}) {
    this.engine = options.engine;
    this.modelId = options.modelId ?? options.state?.model;
    this.history = [...(options.state?.messages ?? [])];
    this.systemText = options.system ?? options.state?.system;
    this.overrideLayer = options.state?.settings ?? {};
    this.baseLayers = options.baseLayers ?? [];
    this.writer = options.writer;
    // A resumed file exists: later changes are appended at once. A changed system prompt is recorded.
    this.written = options.state !== undefined;
    if (options.system !== undefined && options.system !== options.state?.system)
      this.pending.push({ type: 'system', content: options.system });
    if (options.modelId && options.state && options.modelId !== options.state.model)
      this.pending.push({ type: 'model', model: options.modelId });
  }

  /** The whole history since the last /clear (the model may see only its newest turns). */
  get messages(): readonly ChatMessage[] {
    return this.history;
  }

  /** Index of the first message the model sees. */
  get viewStart(): number {
    return this.start;
  }

  get system(): string | undefined {
    return this.systemText;
  }

  /** The session's /set overrides. */
  get overrides(): SettingsLayer {
    return this.overrideLayer;
  }

  get model(): string | undefined {
    return this.modelId;
  }

  /** The effective settings: the model's defaults, the base layers, then the overrides. */
  settings(overrides: SettingsLayer = this.overrideLayer): GenerationSettings {
    return resolveSettings(this.engine?.info.generationDefaults, ...this.baseLayers, overrides);
  }

  /** The whole state, for /save. */
  snapshot(): SessionState {
    return {
      model: this.modelId,
      system: this.systemText,
      messages: [...this.history],
      settings: this.overrideLayer,
    };
  }

  // The mutators below change the state at once (so a front-end can show the result in order) and
  // return the autosave's outcome as a promise.

  /** Replaces the /set overrides (validated against the other layers first; throws at once). */
  setOverrides(next: SettingsLayer): Promise<ChatEvent[]> {
    this.settings(next);
    this.overrideLayer = next;
    return this.record([{ type: 'settings', settings: next }]);
  }

  /** Sets (or with '' removes) the system prompt. */
  setSystem(text: string): Promise<ChatEvent[]> {
    this.systemText = text || undefined;
    return this.record([{ type: 'system', content: this.systemText }]);
  }

  /** Starts the conversation over; the system prompt stays. */
  clear(): Promise<ChatEvent[]> {
    this.history = [];
    this.start = 0;
    return this.record([{ type: 'clear' }]);
  }

  /** Replaces the conversation with a loaded one (recorded as a clear and the loaded records). */
  load(state: SessionState): Promise<ChatEvent[]> {
    this.history = [...state.messages];
    this.systemText = state.system;
    this.overrideLayer = state.settings;
    this.start = 0;
    const messages = state.messages.map((m) => ({
      type: 'message' as const,
      role: m.role as 'user' | 'assistant',
      content: m.content,
    }));
    return this.record([
      { type: 'clear' },
      { type: 'system', content: state.system },
      { type: 'settings', settings: state.settings },
      ...messages,
    ]);
  }

  /**
   * Switches to another model and refits the history to its context: a smaller context leaves the
   * oldest turns out of the view (with the usual notice), a larger one brings them back.
   */
  async setEngine(
    engine: SessionEngine,
    modelId: string,
    signal?: AbortSignal,
  ): Promise<ChatEvent[]> {
    const events: ChatEvent[] = [];
    const changed = this.modelId !== modelId;
    this.engine = engine;
    this.modelId = modelId;
    if (changed) events.push(...(await this.record([{ type: 'model', model: modelId }])));
    this.start = 0;
    if (this.history.length === 0 || chatModeOf(engine.info) === 'single-turn') return events;
    const budget = {
      contextLength: engine.info.contextLength,
      reserve: Math.min(this.settings().max_new_tokens, Math.floor(engine.info.contextLength / 4)),
    };
    const measure = async (c: Conversation) => {
      const plan = await buildPrompt(engine.info, c, signal);
      return (await engine.tokenize(plan.prompt, { addSpecialTokens: plan.addSpecialTokens }))
        .length;
    };
    const conversation = { system: this.systemText, messages: this.history };
    try {
      const fit = await fitView(conversation, 0, budget, measure, signal);
      this.start = fit.start;
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      // Not even the newest turn fits: the next message starts the view afresh.
      this.start = this.history.length;
    }
    const dropped = this.history.slice(0, this.start).filter((m) => m.role === 'user').length;
    if (dropped > 0) events.push({ type: 'notice', text: droppedText(dropped) });
    return events;
  }

  /** Sends a user message and streams the reply. */
  async *send(text: string, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const messages = [...this.history, { role: 'user' as const, content: text }];
    yield* this.turn(messages, this.start, signal, (reply) => {
      this.history = [...messages, reply];
      return [
        { type: 'message', role: 'user', content: text },
        { type: 'message', role: 'assistant', content: reply.content },
      ];
    });
  }

  /** Discards the last reply and generates it again. */
  async *regen(signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    if (this.history.at(-1)?.role !== 'assistant')
      throw new InputError('There is no reply to regenerate.');
    const messages = this.history.slice(0, -1);
    yield* this.turn(messages, Math.min(this.start, messages.length - 1), signal, (reply) => {
      this.history = [...messages, reply];
      return [{ type: 'retract' }, { type: 'message', role: 'assistant', content: reply.content }];
    });
  }

  private async *turn(
    messages: ChatMessage[],
    from: number,
    signal: AbortSignal | undefined,
    commit: (reply: ChatMessage) => SessionRecord[],
  ): AsyncGenerator<ChatEvent> {
    const engine = this.engine;
    if (!engine) throw new InputError('No model is loaded.', 'Pick a model first (/model).');
    const turn = await prepareTurn(
      engine,
      { system: this.systemText, messages },
      from,
      this.settings(),
      signal,
    );
    if (turn.droppedTurns > 0) yield { type: 'notice', text: droppedText(turn.droppedTurns) };
    let streamed = '';
    let done;
    for await (const event of engine.generate(turn.request)) {
      if (event.type === 'token' && event.sequence === 0 && event.text) {
        streamed += event.text;
        yield { type: 'token', text: event.text };
      } else if (event.type === 'notice')
        yield { type: 'notice', text: event.message, engine: true };
      else if (event.type === 'done') done = event;
    }
    if (!done) throw new AbortedError();
    const text = done.sequences[0]?.text ?? streamed;
    this.start = turn.start;
    const records = commit({ role: 'assistant', content: text });
    // The reply is shown before the autosave, which is then reported only if it fails.
    yield { type: 'reply', text, reason: done.reason, stats: done.stats };
    for (const event of await this.record(records)) yield event;
  }

  /**
   * Queues records and appends them once the session has a file (after its first turn). Appends
   * run one at a time, in order, even when the next turn finishes before the last write did.
   */
  private record(records: SessionRecord[]): Promise<ChatEvent[]> {
    this.pending.push(...records);
    const next = this.writing.then(() => this.flush());
    this.writing = next.then(() => undefined);
    return next;
  }

  private async flush(): Promise<ChatEvent[]> {
    if (!this.writer || this.pending.length === 0) return [];
    if (!this.written && !this.pending.some((r) => r.type === 'message')) return [];
    const batch = this.pending;
    this.pending = [];
    try {
      await this.writer.append(batch);
      this.written = true;
      return [];
    } catch (error) {
      // Kept for the next attempt, so a passing failure (disk full) loses nothing.
      this.pending = [...batch, ...this.pending];
      return [{ type: 'error', text: `Autosave failed: ${(error as Error).message}` }];
    }
  }
}
