/**
 * The prompt: a multi-line editor with history (Up/Down), Tab completion of slash commands, and
 * Enter to submit. A line ending in a backslash, or Alt-Enter, continues on a new line.
 */
import React, { useRef, useState } from 'react';
import { stylesOff } from './terminal-style.js';
import { Box, Text, useInput, type Key } from 'ink';
import {
  EMPTY_EDITOR,
  cursorLine,
  edit,
  enterAction,
  type EditAction,
  type EditorState,
} from './line-editor.js';
import { EMPTY_HISTORY, newer, older, remember, type History } from './input-history.js';
import { completeSlash } from './slash-commands.js';
import { useRefState } from './use-ref-state.js';
import { isBurst, splitBurst } from './key-burst.js';

/** Props of {@link PromptInput}. */
export interface PromptInputProps {
  /**
   * Whether Enter submits now (false while a reply streams; typing ahead still works). A function,
   * because one burst of keys can hold several Enters and must see the state each one leaves.
   */
  canSubmit: () => boolean;
  onSubmit: (text: string) => void;
  /** Ctrl-D on an empty prompt. */
  onEof: () => void;
  /** Whether keys are handled at all (false while the picker is open). */
  isActive?: boolean;
  /** Where the history lives, so it outlasts this component (the picker replaces it for a while). */
  historyStore?: { current: History };
}

const CTRL_ACTIONS: Record<string, EditAction> = {
  a: { type: 'home' },
  e: { type: 'end' },
  u: { type: 'kill-before' },
  k: { type: 'kill-after' },
  w: { type: 'kill-word' },
};

function keyAction(input: string, key: Key): EditAction | undefined {
  if (key.ctrl && CTRL_ACTIONS[input]) return CTRL_ACTIONS[input];
  if (key.leftArrow) return { type: 'left' };
  if (key.rightArrow) return { type: 'right' };
  if (key.home) return { type: 'home' };
  if (key.end) return { type: 'end' };
  // Terminals send DEL (0x7f) for Backspace, which Ink reports as `delete`.
  if (key.backspace || key.delete) return { type: 'backspace' };
  if (
    input &&
    !key.ctrl &&
    !key.meta &&
    !key.escape &&
    !key.tab &&
    !key.upArrow &&
    !key.downArrow &&
    !key.pageUp &&
    !key.pageDown
  ) {
    return { type: 'insert', text: input };
  }
  return undefined;
}

/** The input box with its editing keys. */
export function PromptInput({
  canSubmit,
  onSubmit,
  onEof,
  isActive = true,
  historyStore,
}: PromptInputProps): React.JSX.Element {
  const [getEditor, setEditor] = useRefState<EditorState>(EMPTY_EDITOR);
  const ownHistory = useRef<History>(EMPTY_HISTORY);
  const store = historyStore ?? ownHistory;
  const getHistory = () => store.current;
  const setHistory = (next: History) => {
    store.current = next;
  };
  const [candidates, setCandidates] = useState<string[]>([]);

  const enter = () => {
    const result = enterAction(getEditor());
    if ('next' in result) return setEditor(result.next);
    if (result.submit.trim() === '') return;
    // Busy: keep the text, and start a new line so a following typed-ahead line stays separate.
    if (!canSubmit()) return setEditor(edit(getEditor(), { type: 'insert', text: '\n' }));
    const entry = result.submit.replace(/\n+$/, '');
    setHistory(remember(getHistory(), entry));
    setEditor(EMPTY_EDITOR);
    onSubmit(entry);
  };

  const recall = (step: { history: History; text?: string }) => {
    setHistory(step.history);
    if (step.text !== undefined) setEditor({ text: step.text, cursor: step.text.length });
  };

  const handle = (input: string, key: Key): void => {
    const editor = getEditor();
    setCandidates([]);
    if (isBurst(input, key)) {
      for (const piece of splitBurst(input)) handle(piece.input, piece.key);
      return;
    }
    if (key.ctrl && input === 'd') {
      if (editor.text === '') onEof();
      return;
    }
    if (key.return)
      return key.meta ? setEditor(edit(editor, { type: 'insert', text: '\n' })) : enter();
    if (key.tab) {
      const done = completeSlash(editor.text);
      setEditor({ text: done.line, cursor: done.line.length });
      return setCandidates(done.candidates);
    }
    if (key.upArrow && cursorLine(editor).first) return recall(older(getHistory(), editor.text));
    if (key.downArrow && cursorLine(editor).last) return recall(newer(getHistory()));
    const action = keyAction(input, key);
    if (action) setEditor(edit(editor, action));
  };
  useInput(handle, { isActive });

  const { text, cursor } = getEditor();
  const before = text.slice(0, cursor);
  const at = text[cursor] ?? ' ';
  const after = text.slice(cursor + 1);
  // Without styles an inverse cell is invisible: a caret marks the cursor instead.
  const plain = stylesOff();
  const rendered = (
    <Text>
      {before}
      {plain ? (
        <Text>{at === '\n' || at === ' ' ? '_' : `|${at}`}</Text>
      ) : (
        <Text inverse>{at === '\n' ? ' ' : at}</Text>
      )}
      {at === '\n' ? '\n' : ''}
      {after}
    </Text>
  );
  return (
    <Box flexDirection="column">
      <Box>
        <Text color="green">{'› '}</Text>
        <Box flexDirection="column">{rendered}</Box>
      </Box>
      {candidates.length > 0 && <Text dimColor>{candidates.join('  ')}</Text>}
    </Box>
  );
}
