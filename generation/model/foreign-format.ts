/**
 * Folders and files in formats textgen does not run (llama.cpp's GGUF, Hugging Face checkpoints in
 * safetensors or PyTorch files): recognised by name so the error says what they are and what to run,
 * instead of "missing config.json" or "no supported ONNX layout".
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ModelError } from '../errors.js';

const GGUF = /\.gguf$/i;
const CHECKPOINT = /(\.safetensors|^pytorch_model.*\.bin|\.pt|\.pth)$/i;

function names(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The error for a weights file textgen cannot run, or undefined for any other file. */
export function foreignFileError(path: string): ModelError | undefined {
  const name = basename(path);
  if (GGUF.test(name))
    return new ModelError(
      `${path} is a GGUF file (llama.cpp's format); textgen runs ONNX models.`,
      'Use an ONNX export of the model (often under onnx-community/ on the Hub), or convert its original Hugging Face checkpoint with `textgen convert FOLDER`.',
    );
  if (CHECKPOINT.test(name))
    return new ModelError(
      `${path} is a Hugging Face checkpoint file, not an ONNX model.`,
      `Convert the folder that holds it with \`textgen convert ${join(path, '..')}\`.`,
    );
  return undefined;
}

/** The error for a folder holding only GGUF or checkpoint weights (no .onnx file), or undefined. */
export function foreignFolderError(dir: string): ModelError | undefined {
  const top = names(dir);
  const all = [...top, ...names(join(dir, 'onnx'))];
  if (all.some((n) => n.endsWith('.onnx'))) return undefined;
  const gguf = top.filter((n) => GGUF.test(n));
  if (gguf.length)
    return new ModelError(
      `${dir} holds GGUF weights (${gguf.slice(0, 2).join(', ')}: llama.cpp's format) and no ONNX weights; textgen runs ONNX models.`,
      'Use an ONNX export of the model (often under onnx-community/ on the Hub), or convert its original Hugging Face checkpoint with `textgen convert FOLDER`.',
    );
  const checkpoint = top.filter((n) => CHECKPOINT.test(n));
  if (checkpoint.length)
    return new ModelError(
      `${dir} is a Hugging Face checkpoint with no ONNX weights (${checkpoint.slice(0, 2).join(', ')}${checkpoint.length > 2 ? ', ...' : ''}).`,
      `Convert it with \`textgen convert ${dir}\` (it writes an ONNX model folder), or pull an ONNX export.`,
    );
  return undefined;
}
