/**
 * The live part of the chat screen: the reply being streamed, the status line and the prompt. The
 * finished turns are in <Transcript>, which the app keeps mounted across model switches.
 */
import React from 'react';
import { Box, Text } from 'ink';
import type { GenerationStats } from '../generation/events.js';
import { PromptInput } from './PromptInput.js';
import type { History } from './input-history.js';
import { StatusLine } from './StatusLine.js';

/** Props of {@link ChatView}. */
export interface ChatViewProps {
  modelId: string;
  device: string;
  contextLength: number;
  streaming: string | null;
  stats?: GenerationStats;
  hint?: string;
  /** Read at Enter time (not render time): see PromptInput. */
  canSubmit: () => boolean;
  onSubmit: (text: string) => void;
  onEof: () => void;
  historyStore?: { current: History };
}

/** Streaming reply + status line + prompt. */
export function ChatView(props: ChatViewProps): React.JSX.Element {
  const busy = props.streaming !== null;
  return (
    <Box flexDirection="column">
      {busy && <Text>{props.streaming === '' ? '…' : props.streaming}</Text>}
      <StatusLine
        model={props.modelId}
        device={props.device}
        contextLength={props.contextLength}
        stats={props.stats}
        busy={busy}
        hint={props.hint}
      />
      <PromptInput
        canSubmit={props.canSubmit}
        onSubmit={props.onSubmit}
        onEof={props.onEof}
        historyStore={props.historyStore}
      />
    </Box>
  );
}
