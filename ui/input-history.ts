/**
 * Prompt history as a pure value: Up recalls older entries, Down newer ones, and moving past the
 * newest restores what was being typed (the draft).
 */

/** Entries oldest first, the recalled position (null while editing a fresh line) and the draft. */
export interface History {
  entries: string[];
  index: number | null;
  draft: string;
}

/** An empty history. */
export const EMPTY_HISTORY: History = { entries: [], index: null, draft: '' };

/** Adds a submitted entry (skipping blanks and repeats of the last one) and resets recall. */
export function remember(history: History, entry: string): History {
  const skip = entry.trim() === '' || history.entries.at(-1) === entry;
  return { entries: skip ? history.entries : [...history.entries, entry], index: null, draft: '' };
}

/** Moves one entry back; returns the new history and the text to show (undefined: nothing older). */
export function older(history: History, current: string): { history: History; text?: string } {
  if (history.entries.length === 0 || history.index === 0) return { history };
  const index = history.index === null ? history.entries.length - 1 : history.index - 1;
  const draft = history.index === null ? current : history.draft;
  return { history: { ...history, index, draft }, text: history.entries[index] };
}

/** Moves one entry forward; past the newest entry the draft comes back. */
export function newer(history: History): { history: History; text?: string } {
  if (history.index === null) return { history };
  if (history.index === history.entries.length - 1)
    return { history: { ...history, index: null }, text: history.draft };
  const index = history.index + 1;
  return { history: { ...history, index }, text: history.entries[index] };
}
