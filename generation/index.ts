/**
 * The public surface of the generation core, used by commands/.
 */
export {
  loadModel,
  type TextGenerator,
  type TextGeneratorOptions,
  type GenerateRequest,
} from './host/text-generator.js';
export type { ModelInfo, LoadOptions } from './host/model-host.js';
export type {
  GenerationEvent,
  GenerationStats,
  SequenceResult,
  FinishReason,
  TokenLogprob,
} from './events.js';
export {
  resolveSettings,
  DEFAULT_SETTINGS,
  MAX_LOGPROBS,
  type GenerationSettings,
  type SettingsLayer,
} from './settings.js';
export {
  inspectModelFolder,
  DTYPE_SUFFIXES,
  type ModelFolder,
  type Dtype,
} from './model/model-folder.js';
export {
  slidingWindows,
  type ScoreRequest,
  type ScoreResult,
  type ScoreWindow,
} from './decode/score.js';
export { convertModel, type ConvertRequest } from './convert/run-convert.js';
export type { ConvertEvent, ConvertResult } from './convert/convert.js';
export { WEIGHT_DTYPES, type WeightDtype } from './onnx-writer/weight-emit.js';
