/** Decoding strategies: logits processors, warpers, samplers and the RNG, re-exported for the decode engine. */
export { applyLogitsProcessors, buildLogitsProcessors, type ProcessorModelInfo } from './build.js';
export { FILTERED, type LogitsProcessor, type ProcessorContext } from './types.js';
export { argmax, createGreedySampler, createMultinomialSampler, createRng, createSampler, logSoftmax, randomSeed, softmax, type Rng, type Sampler } from './sampler.js';
