/**
 * Whether the terminal gets colours and other ANSI styles. Ink's colour library reads FORCE_COLOR and
 * TERM only; the CLI maps NO_COLOR, --no-color and a non-terminal stdout to FORCE_COLOR=0, and the
 * views use this to keep what styles carried (the cursor, the selected row) visible as plain text.
 */

/** True when styles are off (NO_COLOR, --no-color, FORCE_COLOR=0 or TERM=dumb). */
export function stylesOff(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.NO_COLOR) || env.FORCE_COLOR === '0' || env.TERM === 'dumb';
}
