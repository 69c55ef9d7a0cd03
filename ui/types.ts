/**
 * What the chat app is given from outside (by commands/chat.ts, or by tests): the models to pick
 * from, a way to open one, and where the session is kept. The app never touches the file system or
 * the runtime itself.
 */
import type { SessionEngine } from '../generation/chat/session.js';
import type { SettingsLayer } from '../generation/settings.js';

export type { SessionState } from '../generation/chat/session-log.js';
export type { SessionWriter } from '../generation/chat/session.js';
export type { SessionFiles } from '../generation/chat/slash.js';

/** A model the picker offers (the shape the models cache lists). */
export interface ModelEntry {
  id: string;
  path: string;
  sizeBytes: number;
  architecture: string;
  task: 'text-generation' | 'text2text-generation';
  dtypes: string[];
  contextLength: number;
}

/** A loaded model as the app uses it: the core's TextGenerator satisfies this. */
export interface AppEngine extends SessionEngine {
  readonly info: SessionEngine['info'] & {
    device: string;
    dtype: string;
    architecture: string;
    generationDefaults: SettingsLayer;
    notice?: string;
    /** Set for a remote engine (--endpoint): the status line names it instead of the device. */
    remote?: { engine: string; host: string; model: string };
  };
  dispose(): Promise<void>;
}
