/**
 * Output stream handling: a reader that closes the pipe early (`textgen generate | head -c 20`) is not
 * an error. EPIPE stops the command (as Ctrl-C does, so the model worker finishes its step cleanly)
 * and later writes are dropped; the process then exits 0.
 */

/** Calls `onClosed` once when `stream` reports EPIPE; other stream errors are rethrown. */
export function guardStdout(stream: NodeJS.WriteStream, onClosed: () => void): void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (!closed) {
      closed = true;
      onClosed();
    }
  });
}
