/**
 * Writes models/default/onnx/textgen_decoder.onnx (textgen's fused graph) from the weights stored in
 * models/default/onnx/model.onnx, without retraining: the two files then hold the same weights, and
 * test/generation/training/default-fused.test.ts checks that both generate the same text.
 *   npx tsx scripts/rebuild-default-fused.ts [MODEL_DIR]
 */
import { readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FUSED_STEM } from '../generation/onnx-writer/fused-decoder.js';
import { readFloatInitializers, storedWeights } from '../generation/onnx-writer/read-weights.js';
import { configFromJson, llamaShape, writeFusedFrom } from '../generation/training/export.js';

const dir = resolve(process.argv[2] ?? join(import.meta.dirname, '..', 'models', 'default'));
const config = configFromJson(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
const weights = storedWeights(readFloatInitializers(join(dir, 'onnx', 'model.onnx')));
const out = join(dir, 'onnx', `${FUSED_STEM}.onnx`);
writeFusedFrom(`${out}.tmp`, llamaShape(config), weights);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}`);
