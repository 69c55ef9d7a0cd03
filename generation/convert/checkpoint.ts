/**
 * A Hugging Face checkpoint folder: config.json plus `model.safetensors`, or the shards a
 * `model.safetensors.index.json` names. Every shard's header is validated when the folder is opened;
 * tensors are then read one by one by name, wherever they live.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../errors.js';
import { SafetensorsFile, type TensorEntry } from './safetensors.js';

/** Reads a JSON object file, or throws ModelError naming it. */
export function readJsonObject(path: string): Record<string, any> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ModelError(`${path} is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ModelError(`${path} is not a JSON object.`);
  return value as Record<string, any>;
}

const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';

/** The tensors of a checkpoint folder across its safetensors files. */
export class Checkpoint {
  private readonly files: SafetensorsFile[] = [];
  private readonly where = new Map<string, SafetensorsFile>();

  private constructor(readonly dir: string) {}

  /** Opens the weights of `dir` (sharded or not); throws ModelError for a missing or bad file. */
  static open(dir: string): Checkpoint {
    const c = new Checkpoint(dir);
    try {
      if (existsSync(join(dir, INDEX))) c.openSharded();
      else if (existsSync(join(dir, SINGLE))) c.add(new SafetensorsFile(join(dir, SINGLE)));
      else throw noWeights(dir);
    } catch (error) {
      c.close();
      throw error;
    }
    return c;
  }

  private openSharded(): void {
    const index = readJsonObject(join(this.dir, INDEX));
    const map = index.weight_map as Record<string, unknown> | undefined;
    if (typeof map !== 'object' || map === null)
      throw new ModelError(`${INDEX} in ${this.dir} has no weight_map.`);
    const shards = [...new Set(Object.values(map))];
    for (const shard of shards) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\'))
        throw new ModelError(`${INDEX} names an invalid shard ${JSON.stringify(shard)}.`);
      if (!existsSync(join(this.dir, shard)))
        throw new ModelError(
          `Missing shard ${shard} (named by ${INDEX}) in ${this.dir}.`,
          'Download the complete checkpoint: every shard the index lists.',
        );
    }
    for (const shard of shards as string[]) this.add(new SafetensorsFile(join(this.dir, shard)));
    for (const [name, shard] of Object.entries(map)) {
      const file = this.where.get(name);
      if (!file || !file.path.endsWith(`/${String(shard)}`))
        throw new ModelError(`${INDEX} puts ${name} in ${String(shard)}, whose header lacks it.`);
    }
  }

  private add(file: SafetensorsFile): void {
    this.files.push(file);
    for (const name of file.tensors.keys()) {
      const other = this.where.get(name);
      if (other)
        throw new ModelError(`Tensor ${name} is in two files: ${other.path} and ${file.path}.`);
      this.where.set(name, file);
    }
  }

  /** Every tensor name. */
  names(): string[] {
    return [...this.where.keys()];
  }

  /** The header entry of `name`, or undefined. */
  entry(name: string): TensorEntry | undefined {
    return this.where.get(name)?.tensors.get(name);
  }

  /** The file that holds `name`. */
  fileOf(name: string): string | undefined {
    return this.where.get(name)?.path;
  }

  /** Reads `name` as float32. */
  read(name: string): Float32Array {
    const file = this.where.get(name);
    if (!file) throw new ModelError(`The checkpoint in ${this.dir} has no tensor ${name}.`);
    return file.readFloat32(name);
  }

  /** Closes every file. */
  close(): void {
    for (const f of this.files) f.close();
    this.files.length = 0;
  }
}

function noWeights(dir: string): ModelError {
  const torch = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].some((f) =>
    existsSync(join(dir, f)),
  );
  return new ModelError(
    `No ${SINGLE} or ${INDEX} in ${dir}.`,
    torch
      ? 'The folder holds PyTorch .bin weights; textgen convert reads safetensors only.'
      : 'textgen convert needs a Hugging Face checkpoint: config.json, safetensors weights and tokenizer.json.',
  );
}
