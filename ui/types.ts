/**
 * What the chat app is given from outside (by commands/chat.ts, or by tests): the models to pick
 * from, a way to open one, and a place to keep sessions. The app never touches the file system or
 * the runtime itself.
 */
import type { ChatEngine } from '../generation/chat/chat-turn.js';
import type { ChatMessage } from '../generation/chat/chat-template.js';
import type { SettingsLayer } from '../generation/settings.js';

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
export interface AppEngine extends ChatEngine {
  readonly info: ChatEngine['info'] & {
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

/** A saved conversation. */
export interface SessionData {
  version: 1;
  model?: string;
  system?: string;
  messages: ChatMessage[];
  /** The session's /set overrides. */
  settings: SettingsLayer;
  savedAt?: string;
}

/** Session persistence provided by the command (file system access stays out of ui/). */
export interface SessionStore {
  /** Writes the session to FILE (a bare name goes to the sessions folder); resolves to the path. */
  save(target: string, data: SessionData): Promise<string>;
  /** Reads a session saved by save() or autosave(). */
  load(target: string): Promise<SessionData>;
  /** Writes the current session to its own file after every turn, for `--continue`. */
  autosave(data: SessionData): Promise<void>;
}
