/**
 * Mounts the chat app on the terminal and resolves when the user quits. The only place Ink's
 * render() is called, so commands load Ink just by importing this module.
 */
import React from 'react';
import { render } from 'ink';
import { App, type AppProps } from './App.js';

/** Terminal streams the app draws on and reads keys from. */
export interface ChatStreams {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Renders the app (Ctrl-C is the app's to handle) and waits for it to exit. */
export async function runChatApp(props: AppProps, streams: ChatStreams): Promise<void> {
  const instance = render(<App {...props} />, {
    ...streams,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  await instance.waitUntilExit();
}
