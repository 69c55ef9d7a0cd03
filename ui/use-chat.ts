/**
 * The chat's state and actions as a React hook: the conversation the model sees, the transcript the
 * user sees, the streaming reply, and the last reply's stats. Each turn sends the whole prompt with
 * keepCache so the core reuses the KV cache of the common prefix; /regen and /clear simply send a
 * shorter conversation next time.
 */
import { useCallback, useRef, useState } from 'react';
import { TextgenError } from '../generation/errors.js';
import type { GenerationStats } from '../generation/events.js';
import { resolveSettings, type SettingsLayer } from '../generation/settings.js';
import type { Conversation } from '../generation/chat/conversation.js';
import { prepareTurn } from '../generation/chat/chat-turn.js';
import type { AppEngine, SessionData, SessionStore } from './types.js';
import { useRefState } from './use-ref-state.js';

/** One line of the transcript. */
export interface TranscriptItem {
  id: number;
  kind: 'user' | 'assistant' | 'notice' | 'error' | 'info';
  text: string;
}

/** Options of {@link useChat}. */
export interface ChatOptions {
  userSettings?: SettingsLayer;
  sessions?: SessionStore;
  initialSession?: SessionData;
  system?: string;
}

/** Formats an error for the transcript: the message and, for textgen errors, the hint. */
export function describeError(error: unknown): string {
  if (error instanceof TextgenError)
    return error.hint ? `${error.message}\n  hint: ${error.hint}` : error.message;
  return error instanceof Error ? error.message : String(error);
}

function transcriptOf(conversation: Conversation): Array<Omit<TranscriptItem, 'id'>> {
  return conversation.messages.map((m) => ({
    kind: m.role === 'user' ? 'user' : 'assistant',
    text: m.content,
  }));
}

/** The chat hook; `engine` may be null until a model is picked. */
export function useChat(
  engine: AppEngine | null,
  modelId: string | undefined,
  options: ChatOptions,
) {
  const initial = options.initialSession;
  const [getConversation, setConversation] = useRefState<Conversation>({
    system: initial?.system ?? options.system,
    messages: initial?.messages ?? [],
  });
  const [getOverrides, setOverrides] = useRefState<SettingsLayer>(initial?.settings ?? {});
  const nextId = useRef(0);
  const [items, setItems] = useState<TranscriptItem[]>(() =>
    (initial
      ? [
          {
            kind: 'info' as const,
            text: `Resumed a session with ${initial.messages.length} messages.`,
          },
          ...transcriptOf(initial),
        ]
      : []
    ).map((i) => ({ ...i, id: nextId.current++ })),
  );
  const [streaming, setStreaming] = useState<string | null>(null);
  const [stats, setStats] = useState<GenerationStats | undefined>();
  const controller = useRef<AbortController | null>(null);

  const add = useCallback((kind: TranscriptItem['kind'], text: string) => {
    setItems((list) => [...list, { id: nextId.current++, kind, text }]);
  }, []);

  const settings = useCallback(
    () => resolveSettings(engine?.info.generationDefaults, options.userSettings, getOverrides()),
    [engine, options.userSettings, getOverrides],
  );

  const session = useCallback(
    (): SessionData => ({
      version: 1,
      model: modelId,
      system: getConversation().system,
      messages: getConversation().messages,
      settings: getOverrides(),
    }),
    [modelId, getConversation, getOverrides],
  );

  const runTurn = useCallback(
    async (conversation: Conversation) => {
      if (!engine || controller.current) return;
      const abort = new AbortController();
      controller.current = abort;
      setStreaming('');
      let finished = false;
      try {
        const turn = await prepareTurn(engine, conversation, settings(), abort.signal);
        if (turn.droppedTurns > 0)
          add(
            'notice',
            `Context full: dropped the ${turn.droppedTurns} oldest turn${turn.droppedTurns === 1 ? '' : 's'} (the system prompt is kept).`,
          );
        let text = '';
        let done;
        for await (const event of engine.generate(turn.request)) {
          if (event.type === 'token' && event.sequence === 0 && event.text)
            setStreaming((text += event.text));
          else if (event.type === 'done') done = event;
          else if (event.type === 'notice') add('notice', event.message);
        }
        const reply = done?.sequences[0]?.text ?? text;
        setConversation({
          ...turn.conversation,
          messages: [...turn.conversation.messages, { role: 'assistant', content: reply }],
        });
        add('assistant', reply);
        if (done?.reason === 'aborted') add('notice', 'Stopped.');
        if (done) setStats(done.stats);
        finished = true;
      } catch (error) {
        add('error', describeError(error));
      } finally {
        // Cleared in the same update as the reply lands, so the prompt accepts input the moment the
        // reply is shown.
        controller.current = null;
        setStreaming(null);
      }
      if (finished)
        await options.sessions
          ?.autosave(session())
          .catch((error: unknown) => add('error', `Autosave failed: ${describeError(error)}`));
    },
    [engine, settings, add, setConversation, session, options.sessions],
  );

  const send = useCallback(
    (text: string) => {
      add('user', text);
      const c = getConversation();
      void runTurn({ ...c, messages: [...c.messages, { role: 'user', content: text }] });
    },
    [add, getConversation, runTurn],
  );

  const regen = useCallback(() => {
    const c = getConversation();
    if (c.messages.at(-1)?.role !== 'assistant')
      return add('notice', 'There is no reply to regenerate.');
    add('info', '↻ Regenerating the last reply.');
    void runTurn({ ...c, messages: c.messages.slice(0, -1) });
  }, [add, getConversation, runTurn]);

  const clear = useCallback(() => {
    setConversation({ system: getConversation().system, messages: [] });
    setStats(undefined);
    add('info', 'Conversation cleared.');
  }, [add, getConversation, setConversation]);

  const setSystem = useCallback(
    (text: string) => {
      setConversation({ ...getConversation(), system: text || undefined });
      add('info', text ? `System prompt set.` : 'System prompt removed.');
    },
    [add, getConversation, setConversation],
  );

  const setOverridesChecked = useCallback(
    (next: SettingsLayer) => {
      resolveSettings(engine?.info.generationDefaults, options.userSettings, next);
      setOverrides(next);
    },
    [engine, options.userSettings, setOverrides],
  );

  const restore = useCallback(
    (data: SessionData) => {
      setConversation({ system: data.system, messages: data.messages });
      setOverrides(data.settings ?? {});
      for (const item of transcriptOf({ messages: data.messages })) add(item.kind, item.text);
    },
    [add, setConversation, setOverrides],
  );

  const stop = useCallback(() => controller.current?.abort(), []);
  // Read synchronously: a burst of keys can submit twice before React re-renders.
  const isBusy = useCallback(() => controller.current !== null, []);

  return {
    items,
    add,
    streaming,
    isBusy,
    stats,
    send,
    regen,
    clear,
    setSystem,
    stop,
    restore,
    session,
    settings,
    overrides: getOverrides,
    setOverrides: setOverridesChecked,
    conversation: getConversation,
  };
}

/** What {@link useChat} returns. */
export type ChatState = ReturnType<typeof useChat>;
