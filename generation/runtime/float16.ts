/**
 * Kept for generation/decode/score.ts (another helper's slice this round): the half → float32
 * conversion lives in common/float16.ts; new code imports it from there.
 */
export { halfToFloat } from '../../common/float16.js';
