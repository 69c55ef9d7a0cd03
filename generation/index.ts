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
export { DEVICES, isDevice, type DeviceName } from './runtime/device.js';
export type {
  GenerationEvent,
  GenerationStats,
  SequenceResult,
  FinishReason,
  TokenLogprob,
} from './events.js';
export {
  resolveSettings,
  applyLengthLimits,
  checkGenerationMemory,
  DEFAULT_SETTINGS,
  MAX_BATCH_ROWS,
  MAX_LOGPROBS,
  MAX_ROWS,
  type GenerationSettings,
  type SettingsLayer,
} from './settings.js';
// The one settings schema: names, types, ranges and the parsers for text and JSON sources (flags,
// config, /set, --jsonl, session files, HTTP bodies).
export {
  SETTING_SPECS,
  settingKey,
  settingName,
  settingSpec,
  parseSettingText,
  parseSettingJson,
  settingsFromJson,
  formatSettingValue,
  type SettingSpec,
  type SettingSource,
} from './settings-schema.js';
export { randomSeed } from './processors/sampler.js';
export { ChatSession, type ChatEvent, type SessionWriter } from './chat/session.js';
export type { SessionState, SessionRecord } from './chat/session-log.js';
export { warmTemplateRenderer } from './chat/template-render.js';
export { oneShotPrompt, type OneShotOptions, type OneShotPrompt } from './chat/one-shot.js';
export {
  inspectModelFolder,
  DTYPE_SUFFIXES,
  type ModelFolder,
  type Dtype,
} from './model/model-folder.js';
export { createRng, type Rng } from './processors/sampler.js';
export {
  slidingWindows,
  type ScoreRequest,
  type ScoreResult,
  type ScoreWindow,
} from './decode/score.js';
export { convertModel, type ConvertRequest } from './convert/run-convert.js';
export type { ConvertEvent, ConvertResult } from './convert/convert.js';
export { WEIGHT_DTYPES, type WeightDtype } from './onnx-writer/weight-emit.js';
export {
  TextgenError,
  UsageError,
  InputError,
  ModelError,
  DeviceError,
  AbortedError,
  ExitCode,
} from './errors.js';
export { renderChatTemplate, type ChatMessage } from './chat/chat-template.js';
export type { BatchStatus, BatchMode } from './decode/batch-scheduler.js';
export { connectEndpoint, baseUrl, type RemoteOptions } from './remote/remote-generator.js';
export {
  OPENAI_FIELDS,
  DEFAULT_FIELD_LIMITS,
  FieldError,
  settingsFromFields,
  fieldsFromSettings,
  type FieldLimits,
  type OpenAiField,
} from './remote/openai-fields.js';
export {
  quantizeModel,
  type QuantizeEvent,
  type QuantizeRequest,
} from './quantize/quantize-model.js';
