/**
 * Output stream handling: a reader that closes the pipe early (`textgen generate | head -c 20`) is not
 * an error, so EPIPE ends the process quietly with success.
 */

/** Makes EPIPE on `stream` exit the process cleanly instead of throwing. */
export function guardStdout(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
