/**
 * One line under the prompt: model, device, context used / context length, TTFT and tok/s of the
 * last reply.
 */
import React from 'react';
import { Text } from 'ink';
import { statusText, type StatusFields } from './format.js';

/** The status line; `hint` (e.g. "press Ctrl-C again to exit") replaces the busy note when set. */
export function StatusLine({
  hint,
  ...fields
}: StatusFields & { hint?: string }): React.JSX.Element {
  return (
    <Text dimColor>
      {hint ? `${statusText({ ...fields, busy: false })} · ${hint}` : statusText(fields)}
    </Text>
  );
}
