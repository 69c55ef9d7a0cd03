/**
 * The chat's screen state as a React hook around the core's ChatSession (generation/chat/session.ts),
 * which owns the conversation, the turn loop and the autosave: this hook only renders its events —
 * the transcript the user sees, the streaming reply, and the last reply's stats.
 */
import { useCallback, useRef, useState } from 'react';
import { AbortedError } from '../generation/errors.js';
import type { GenerationStats } from '../generation/events.js';
import type { SettingsLayer } from '../generation/settings.js';
import type { ChatMessage } from '../generation/chat/chat-template.js';
import { ChatSession, type ChatEvent } from '../generation/chat/session.js';
import { describeError } from '../generation/chat/slash.js';
import type { AppEngine, SessionState, SessionWriter } from './types.js';

/** One line of the transcript. */
export interface TranscriptItem {
  id: number;
  kind: 'user' | 'assistant' | 'notice' | 'error' | 'info';
  text: string;
}

/** Options of {@link useChat}. */
export interface ChatOptions {
  /** Settings layers below the session's /set overrides: the user config, then the flags. */
  baseLayers?: SettingsLayer[];
  writer?: SessionWriter;
  initialSession?: SessionState;
  system?: string;
}

function transcriptOf(messages: readonly ChatMessage[]): Array<Omit<TranscriptItem, 'id'>> {
  return messages.map((m) => ({
    kind: m.role === 'user' ? 'user' : 'assistant',
    text: m.content,
  }));
}

/** The chat hook. */
export function useChat(options: ChatOptions) {
  const sessionRef = useRef<ChatSession | null>(null);
  sessionRef.current ??= new ChatSession({
    state: options.initialSession,
    system: options.system,
    baseLayers: options.baseLayers,
    writer: options.writer,
  });
  const session = sessionRef.current;
  const nextId = useRef(0);
  const [items, setItems] = useState<TranscriptItem[]>(() => {
    const initial = options.initialSession;
    const lines = initial
      ? [
          {
            kind: 'info' as const,
            text: `Resumed a session with ${initial.messages.length} messages.`,
          },
          ...transcriptOf(initial.messages),
        ]
      : [];
    return lines.map((i) => ({ ...i, id: nextId.current++ }));
  });
  const [streaming, setStreaming] = useState<string | null>(null);
  const [stats, setStats] = useState<GenerationStats | undefined>();
  const controller = useRef<AbortController | null>(null);

  const add = useCallback((kind: TranscriptItem['kind'], text: string) => {
    setItems((list) => [...list, { id: nextId.current++, kind, text }]);
  }, []);

  const show = useCallback(
    (events: ChatEvent[]) => {
      for (const e of events) if (e.type === 'notice' || e.type === 'error') add(e.type, e.text);
    },
    [add],
  );

  /** Renders one turn's events; one turn at a time (a second call while busy does nothing). */
  const runTurn = useCallback(
    async (turn: (signal: AbortSignal) => AsyncIterable<ChatEvent>) => {
      if (controller.current) return;
      const abort = new AbortController();
      controller.current = abort;
      setStreaming('');
      let text = '';
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        controller.current = null;
        setStreaming(null);
      };
      try {
        for await (const event of turn(abort.signal)) {
          if (event.type === 'token') setStreaming((text += event.text));
          else if (event.type === 'reply') {
            // Released in the same update as the reply lands, so the prompt accepts input at once.
            add('assistant', event.text);
            if (event.reason === 'aborted') add('notice', 'Stopped.');
            setStats(event.stats);
            release();
          } else show([event]);
        }
      } catch (error) {
        // Ctrl-C before the first token (while the prompt was built) stops the turn like any other.
        if (error instanceof AbortedError) add('notice', 'Stopped.');
        else add('error', describeError(error));
      } finally {
        release();
      }
    },
    [add, show],
  );

  const send = useCallback(
    (text: string) => {
      add('user', text);
      void runTurn((signal) => session.send(text, signal));
    },
    [add, runTurn, session],
  );

  /** Gives the session its (new) model; the status line starts over for it. */
  const setEngine = useCallback(
    async (engine: AppEngine, modelId: string) => {
      setStats(undefined);
      show(await session.setEngine(engine, modelId));
    },
    [session, show],
  );

  const stop = useCallback(() => controller.current?.abort(), []);
  // Read synchronously: a burst of keys can submit twice before React re-renders.
  const isBusy = useCallback(() => controller.current !== null, []);

  /** Shows loaded messages in the transcript (after /load). */
  const showMessages = useCallback(
    (messages: readonly ChatMessage[]) => {
      for (const item of transcriptOf(messages)) add(item.kind, item.text);
    },
    [add],
  );

  return {
    session,
    items,
    add,
    streaming,
    isBusy,
    stats,
    send,
    runTurn,
    setEngine,
    stop,
    showMessages,
  };
}

/** What {@link useChat} returns. */
export type ChatState = ReturnType<typeof useChat>;
