/**
 * The chat app: pick a model (unless one was given), then converse. Everything it needs from the
 * outside world (models, loading, sessions, user settings) comes in as props.
 */
import React, { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import type { SettingsLayer } from '../generation/settings.js';
import { ChatView } from './ChatView.js';
import { ModelPicker } from './ModelPicker.js';
import { Transcript } from './Transcript.js';
import { describeError, useChat } from './use-chat.js';
import { parseSlash } from './slash-commands.js';
import { runSlash } from './slash-dispatch.js';
import { useRefState } from './use-ref-state.js';
import { EMPTY_HISTORY, type History } from './input-history.js';
import type { AppEngine, ModelEntry, SessionData, SessionStore } from './types.js';

/** Props of {@link App}. */
export interface AppProps {
  models: ModelEntry[];
  /** Open this model at once instead of showing the picker. */
  initialModel?: ModelEntry;
  /** Preselected in the picker (the last model used). */
  lastModelId?: string;
  openModel: (model: ModelEntry) => Promise<AppEngine>;
  /** Called after a model loads, to remember it as the last choice. */
  onModelChosen?: (model: ModelEntry) => void;
  sessions?: SessionStore;
  userSettings?: SettingsLayer;
  initialSession?: SessionData;
  system?: string;
}

type Phase = { name: 'pick' } | { name: 'loading'; model: ModelEntry } | { name: 'chat' };

/** The whole TUI. */
export function App(props: AppProps): React.JSX.Element {
  const { exit } = useApp();
  const [engine, setEngine] = useState<AppEngine | null>(null);
  const [model, setModel] = useState<ModelEntry | undefined>();
  const [phase, setPhase] = useState<Phase>(() =>
    props.initialModel ? { name: 'loading', model: props.initialModel } : { name: 'pick' },
  );
  const [isArmed, setArmed] = useRefState(false);
  const history = useRef<History>(EMPTY_HISTORY);
  const chat = useChat(engine, model?.id, {
    userSettings: props.userSettings,
    sessions: props.sessions,
    initialSession: props.initialSession,
    system: props.system,
  });

  const load = useCallback(
    async (entry: ModelEntry) => {
      setPhase({ name: 'loading', model: entry });
      try {
        const next = await props.openModel(entry);
        await engine?.dispose();
        setEngine(next);
        setModel(entry);
        props.onModelChosen?.(entry);
        if (next.info.notice) chat.add('notice', next.info.notice);
        chat.add('info', `Loaded ${entry.id}. Type /help for commands.`);
        setPhase({ name: 'chat' });
      } catch (error) {
        chat.add('error', `Could not load ${entry.id}: ${describeError(error)}`);
        setPhase(engine ? { name: 'chat' } : { name: 'pick' });
      }
    },
    [props, engine, chat],
  );

  useEffect(() => {
    if (props.initialModel) void load(props.initialModel);
    // Only the model given at start is opened here; later ones come from the picker.
  }, []);

  useInput((input, key) => {
    if (!(key.ctrl && input === 'c')) return isArmed() ? setArmed(false) : undefined;
    if (chat.isBusy()) return chat.stop();
    if (isArmed() || phase.name !== 'chat') return exit();
    setArmed(true);
  });

  const submit = (text: string) => {
    setArmed(false);
    const command = parseSlash(text);
    if (!command) return chat.send(text.startsWith('//') ? text.slice(1) : text);
    chat.add('user', text);
    runSlash(command, {
      chat,
      engine: engine!,
      modelId: model!.id,
      sessions: props.sessions,
      openPicker: () => setPhase({ name: 'pick' }),
      exit,
    });
  };

  return (
    <Box flexDirection="column">
      <Transcript items={chat.items} />
      {phase.name === 'pick' && (
        <ModelPicker
          models={props.models}
          initialId={model?.id ?? props.lastModelId}
          onSelect={(m) => void load(m)}
          onCancel={engine ? () => setPhase({ name: 'chat' }) : undefined}
        />
      )}
      {phase.name === 'loading' && <Text dimColor>Loading {phase.model.id}…</Text>}
      {phase.name === 'chat' && engine && model && (
        <ChatView
          modelId={model.id}
          device={
            engine.info.remote
              ? `${engine.info.remote.engine} at ${engine.info.remote.host}`
              : engine.info.device
          }
          contextLength={engine.info.contextLength}
          streaming={chat.streaming}
          stats={chat.stats}
          hint={isArmed() ? 'press Ctrl-C again or Ctrl-D to exit' : undefined}
          canSubmit={() => !chat.isBusy()}
          onSubmit={submit}
          onEof={exit}
          historyStore={history}
        />
      )}
    </Box>
  );
}
