/**
 * Messages between the main thread (TextGenerator) and the model worker.
 */
import type { GenerationEvent } from '../events.js';
import type { ScoreRequest } from '../decode/score.js';
import type { HostGenerateRequest, LoadOptions, ModelInfo } from './model-host.js';
import type { BatchStatus } from '../decode/batch-scheduler.js';

/** Main → worker. */
export type ToWorker =
  | { type: 'load'; dir: string; options: LoadOptions }
  | { type: 'generate'; id: number; request: HostGenerateRequest; abort: SharedArrayBuffer }
  | { type: 'tokenize'; id: number; text: string; addSpecialTokens: boolean }
  | { type: 'score'; id: number; request: ScoreRequest }
  | { type: 'detokenize'; id: number; ids: number[] }
  | { type: 'dispose' };

/** A serialisable error (TextgenError subclasses are rebuilt on the main thread). */
export interface WireError {
  name: string;
  message: string;
  exitCode?: number;
  hint?: string;
}

/** Worker → main. */
export type FromWorker =
  | { type: 'loaded'; info: ModelInfo; batch?: BatchStatus }
  | { type: 'events'; id: number; events: GenerationEvent[] }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number | null; error: WireError }
  /** The batch scheduler's rows and queue changed (models loaded with `parallel`). */
  | { type: 'batch'; id: null; status: BatchStatus };
