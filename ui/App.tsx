/**
 * The chat app: pick a model (unless one was given), then converse. Everything it needs from the
 * outside world (models, loading, sessions, user settings) comes in as props.
 */
import React, { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import type { SettingsLayer } from '../generation/settings.js';
import { describeError, messageText, parseSlash, runSlash } from '../generation/chat/slash.js';
import { ChatView } from './ChatView.js';
import { ModelPicker } from './ModelPicker.js';
import { Transcript } from './Transcript.js';
import { useChat } from './use-chat.js';
import { useRefState } from './use-ref-state.js';
import { EMPTY_HISTORY, type History } from './input-history.js';
import type { AppEngine, ModelEntry, SessionFiles, SessionState, SessionWriter } from './types.js';

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
  /** /save and /load. */
  sessions?: SessionFiles;
  /** Where this chat's session is appended after every turn. */
  writer?: SessionWriter;
  /** Settings layers below the session's /set overrides: the user config, then the flags. */
  baseLayers?: SettingsLayer[];
  initialSession?: SessionState;
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
  const chat = useChat({
    baseLayers: props.baseLayers,
    writer: props.writer,
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
        // The conversation is refitted to the new model's context (a smaller one drops old turns).
        await chat.setEngine(next, entry.id);
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
    if (!command) return chat.send(messageText(text));
    chat.add('user', text);
    if (chat.isBusy() && command.name !== 'exit' && command.name !== 'help')
      return chat.add('notice', 'Wait for the reply to finish (Ctrl-C stops it).');
    void runSlash(command, {
      session: chat.session,
      engine: engine!,
      modelId: model!.id,
      print: chat.add,
      runTurn: chat.runTurn,
      sessions: props.sessions,
      showMessages: chat.showMessages,
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
