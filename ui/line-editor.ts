/**
 * The prompt's text editing as a pure reducer: a text with a cursor, edited by insertions and the
 * usual readline keys (Ctrl-A/E/U/K/W, arrows, backspace). The component maps keys to actions.
 */

/** Editor text and the cursor's index into it (0..text.length). */
export interface EditorState {
  text: string;
  cursor: number;
}

/** One editing step. */
export type EditAction =
  | { type: 'insert'; text: string }
  | { type: 'backspace' }
  | { type: 'left' }
  | { type: 'right' }
  | { type: 'home' }
  | { type: 'end' }
  | { type: 'kill-before' }
  | { type: 'kill-after' }
  | { type: 'kill-word' }
  | { type: 'set'; text: string };

/** The empty editor. */
export const EMPTY_EDITOR: EditorState = { text: '', cursor: 0 };

/** Start and end of the line the cursor is on (multi-line entries edit line by line). */
function lineBounds(state: EditorState): [number, number] {
  const start = state.text.lastIndexOf('\n', state.cursor - 1) + 1;
  const nl = state.text.indexOf('\n', state.cursor);
  return [start, nl === -1 ? state.text.length : nl];
}

/** Applies one action; unknown positions are clamped so the state is always valid. */
export function edit(state: EditorState, action: EditAction): EditorState {
  const { text, cursor } = state;
  switch (action.type) {
    case 'insert': {
      const clean = action.text.replace(/\r\n?/g, '\n');
      return {
        text: text.slice(0, cursor) + clean + text.slice(cursor),
        cursor: cursor + clean.length,
      };
    }
    case 'backspace':
      if (cursor === 0) return state;
      return { text: text.slice(0, cursor - 1) + text.slice(cursor), cursor: cursor - 1 };
    case 'left':
      return { text, cursor: Math.max(0, cursor - 1) };
    case 'right':
      return { text, cursor: Math.min(text.length, cursor + 1) };
    case 'home':
      return { text, cursor: lineBounds(state)[0] };
    case 'end':
      return { text, cursor: lineBounds(state)[1] };
    case 'kill-before': {
      const [start] = lineBounds(state);
      return { text: text.slice(0, start) + text.slice(cursor), cursor: start };
    }
    case 'kill-after': {
      const [, end] = lineBounds(state);
      return { text: text.slice(0, cursor) + text.slice(end), cursor };
    }
    case 'kill-word': {
      const before = text.slice(0, cursor).replace(/\S+\s*$/, '');
      return { text: before + text.slice(cursor), cursor: before.length };
    }
    case 'set':
      return { text: action.text, cursor: action.text.length };
  }
}

/**
 * What Enter does: a line ending in a backslash continues on a new line (the backslash is removed);
 * otherwise the entry is submitted.
 */
export function enterAction(state: EditorState): { submit: string } | { next: EditorState } {
  if (state.cursor === state.text.length && state.text.endsWith('\\')) {
    return { next: { text: `${state.text.slice(0, -1)}\n`, cursor: state.text.length } };
  }
  return { submit: state.text };
}

/** Whether the cursor is on the first / last line (where Up / Down recall history). */
export function cursorLine(state: EditorState): { first: boolean; last: boolean } {
  return {
    first: !state.text.slice(0, state.cursor).includes('\n'),
    last: !state.text.slice(state.cursor).includes('\n'),
  };
}
