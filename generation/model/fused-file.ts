/**
 * Where textgen's fused decoder graph lives in a model folder: onnx/<FUSED_STEM><dtype suffix>.onnx,
 * next to the transformers.js-compatible onnx/model<suffix>.onnx of the same weights. A leaf, so the
 * folder inspection and the graph writer agree on the name without importing each other.
 */

/** The file stem of fused graphs. */
export const FUSED_STEM = 'textgen_decoder';
