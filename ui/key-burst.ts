/**
 * Splits a chunk of terminal input that holds several keys ("/sh\t", "hi\r") into single keys. Ink
 * passes such a chunk to input handlers as one string (it only splits escape sequences), which
 * happens when keys arrive faster than they are read: typing ahead, tmux send-keys, a paste.
 */
import type { Key } from 'ink';

/** A Key with nothing pressed. */
export const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** Whether `input` is a chunk of several keys that includes control characters. */
export function isBurst(input: string, key: Key): boolean {
  // eslint-disable-next-line no-control-regex
  return !key.ctrl && !key.meta && input.length > 1 && /[\x00-\x1f\x7f]/.test(input);
}

/** Printable runs stay together; each control character becomes its own key, as Ink would report it. */
export function splitBurst(input: string): Array<{ input: string; key: Key }> {
  const out: Array<{ input: string; key: Key }> = [];
  // eslint-disable-next-line no-control-regex
  for (const piece of input.match(/[^\x00-\x1f\x7f]+|[\x00-\x1f\x7f]/g) ?? []) {
    const code = piece.charCodeAt(0);
    if (piece.length > 1 || (code >= 0x20 && code !== 0x7f))
      out.push({ input: piece, key: NO_KEY });
    else if (piece === '\r') out.push({ input: '', key: { ...NO_KEY, return: true } });
    else if (piece === '\t') out.push({ input: '', key: { ...NO_KEY, tab: true } });
    else if (piece === '\x7f' || piece === '\b')
      out.push({ input: '', key: { ...NO_KEY, backspace: true } });
    else if (piece === '\n') out.push({ input: '\n', key: NO_KEY });
    else if (code >= 1 && code <= 26)
      out.push({ input: String.fromCharCode(code + 96), key: { ...NO_KEY, ctrl: true } });
  }
  return out;
}
