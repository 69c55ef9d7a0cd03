/**
 * The finished part of the conversation, printed once through Ink's <Static> so that only the
 * streaming reply and the prompt re-render.
 */
import React from 'react';
import { Box, Static, Text } from 'ink';
import type { TranscriptItem } from './use-chat.js';

/** Renders one transcript item. */
export function TranscriptLine({
  item,
}: {
  item: Pick<TranscriptItem, 'kind' | 'text'>;
}): React.JSX.Element {
  switch (item.kind) {
    case 'user':
      return <Text color="green">{`› ${item.text}`}</Text>;
    case 'assistant':
      return (
        <Box marginBottom={1}>
          <Text>{item.text}</Text>
        </Box>
      );
    case 'notice':
      return <Text color="yellow">{`! ${item.text}`}</Text>;
    case 'error':
      return <Text color="red">{`✗ ${item.text}`}</Text>;
    case 'info':
      return <Text dimColor>{item.text}</Text>;
  }
}

/** All finished items. */
export function Transcript({ items }: { items: TranscriptItem[] }): React.JSX.Element {
  return <Static items={items}>{(item) => <TranscriptLine key={item.id} item={item} />}</Static>;
}
