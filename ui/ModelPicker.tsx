/**
 * The model picker: type to filter, Up/Down to move, Enter to choose, Esc to go back (when a model
 * is already loaded). Models come in as props so it can be tested without a cache.
 */
import React from 'react';
import { Box, Text, useInput, type Key } from 'ink';
import type { ModelEntry } from './types.js';
import { filterModels, modelColumns } from './model-filter.js';
import { useRefState } from './use-ref-state.js';
import { stylesOff } from './terminal-style.js';
import { isBurst, splitBurst } from './key-burst.js';

/** Props of {@link ModelPicker}. */
export interface ModelPickerProps {
  models: ModelEntry[];
  /** The id selected first (the last model used). */
  initialId?: string;
  onSelect: (model: ModelEntry) => void;
  /** Given when there is something to go back to. */
  onCancel?: () => void;
}

const VISIBLE_ROWS = 10;

/** Lists models with size, architecture, context length and dtypes. */
export function ModelPicker({
  models,
  initialId,
  onSelect,
  onCancel,
}: ModelPickerProps): React.JSX.Element {
  const [getQuery, setQuery] = useRefState('');
  const [getIndex, setIndex] = useRefState(
    Math.max(
      0,
      models.findIndex((m) => m.id === initialId),
    ),
  );

  const handle = (input: string, key: Key): void => {
    if (isBurst(input, key)) {
      for (const piece of splitBurst(input)) handle(piece.input, piece.key);
      return;
    }
    const query = getQuery();
    const shown = filterModels(models, query);
    const selected = Math.min(getIndex(), Math.max(0, shown.length - 1));
    if (key.upArrow) setIndex(Math.max(0, selected - 1));
    else if (key.downArrow) setIndex(Math.min(shown.length - 1, selected + 1));
    else if (key.return) {
      if (shown[selected]) onSelect(shown[selected]);
    } else if (key.escape) onCancel?.();
    else if (key.backspace || key.delete) {
      setQuery(query.slice(0, -1));
      setIndex(0);
    } else if (input && !key.ctrl && !key.meta && !key.tab) {
      setQuery(query + input.replace(/[\r\n]/g, ''));
      setIndex(0);
    }
  };
  useInput(handle);

  const query = getQuery();
  const shown = filterModels(models, query);
  const selected = Math.min(getIndex(), Math.max(0, shown.length - 1));
  const rows = shown.map(modelColumns);
  const widths = [0, 1, 2, 3].map((c) => Math.max(0, ...rows.map((r) => r[c].length)));
  const first = Math.max(
    0,
    Math.min(selected - Math.floor(VISIBLE_ROWS / 2), shown.length - VISIBLE_ROWS),
  );
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        Pick a model{' '}
        <Text dimColor>(type to filter, ↑/↓ move, Enter choose{onCancel ? ', Esc back' : ''})</Text>
      </Text>
      <Text>
        Filter: {query}
        {stylesOff() ? <Text>_</Text> : <Text inverse> </Text>}
      </Text>
      {models.length === 0 && (
        <Text color="yellow">
          No models found. Download one with `textgen models pull ORG/NAME`, or pass --model DIR.
        </Text>
      )}
      {models.length > 0 && shown.length === 0 && <Text dimColor>No model matches "{query}".</Text>}
      {rows.slice(first, first + VISIBLE_ROWS).map((cols, i) => {
        const active = first + i === selected;
        const line = cols.map((c, col) => (col < 4 ? c.padEnd(widths[col]) : c)).join('  ');
        return (
          // Rows never wrap: a narrow terminal cuts them (the id comes first and stays).
          <Text key={cols[0]} color={active ? 'cyan' : undefined} wrap="truncate-end">
            {active ? '› ' : '  '}
            {line}
          </Text>
        );
      })}
      {shown.length > VISIBLE_ROWS && (
        <Text dimColor>{shown.length} models; type to narrow the list.</Text>
      )}
    </Box>
  );
}
