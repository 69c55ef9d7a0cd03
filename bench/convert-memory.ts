// Peak memory and time of `textgen convert` on a synthetic checkpoint of SmolLM2-135M's shape (bf16,
// random weights, ~270 MB): each dtype is converted in a fresh child process, whose peak RSS
// (getrusage maxRSS) is compared with the checkpoint size and with an idle child's RSS. The streaming
// writer should stay well under twice the checkpoint size. About 2 minutes on an idle 2-core machine.
//
//   npx tsx bench/convert-memory.ts [--layers N] [--dtypes fp32,q4]
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '30' },
    dtypes: { type: 'string', default: 'fp32,q4' },
  },
});
const shape = {
  hidden: 576,
  inter: 1536,
  heads: 9,
  kvHeads: 3,
  vocab: 49152,
  layers: Number(values.layers),
};

/** Writes a bf16 safetensors checkpoint with small random weights, tensor by tensor. */
function writeCheckpoint(dir: string): number {
  const { hidden, inter, vocab, layers } = shape;
  const kv = (shape.kvHeads * hidden) / shape.heads;
  const tensors: Array<[string, number[]]> = [['model.embed_tokens.weight', [vocab, hidden]]];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(
      [`${p}input_layernorm.weight`, [hidden]],
      [`${p}self_attn.q_proj.weight`, [hidden, hidden]],
      [`${p}self_attn.k_proj.weight`, [kv, hidden]],
      [`${p}self_attn.v_proj.weight`, [kv, hidden]],
      [`${p}self_attn.o_proj.weight`, [hidden, hidden]],
      [`${p}post_attention_layernorm.weight`, [hidden]],
      [`${p}mlp.gate_proj.weight`, [inter, hidden]],
      [`${p}mlp.up_proj.weight`, [inter, hidden]],
      [`${p}mlp.down_proj.weight`, [hidden, inter]],
    );
  }
  tensors.push(['model.norm.weight', [hidden]]);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, dims] of tensors) {
    const bytes = dims.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape: dims, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, prefix);
  writeSync(fd, json);
  // bf16 values in ±[2^-7, 2^-6): sign and mantissa bits random, exponent fixed.
  const chunk = new Uint16Array(1 << 20);
  let seed = 1;
  for (let i = 0; i < chunk.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    chunk[i] = (seed >>> 31 ? 0x8000 : 0) | (0x78 << 7) | ((seed >>> 16) & 0x7f);
  }
  for (let left = offset; left > 0; left -= chunk.byteLength)
    writeSync(fd, new Uint8Array(chunk.buffer, 0, Math.min(left, chunk.byteLength)));
  closeSync(fd);
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      model_type: 'llama',
      hidden_size: shape.hidden,
      intermediate_size: shape.inter,
      num_hidden_layers: layers,
      num_attention_heads: shape.heads,
      num_key_value_heads: shape.kvHeads,
      vocab_size: vocab,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
      rope_theta: 100000,
      tie_word_embeddings: true,
    }),
  );
  const tokenizer = join(root, '..', 'shared', 'models', 'tiny-random-gpt2-hf', 'tokenizer.json');
  writeFileSync(join(dir, 'tokenizer.json'), readFileSync(tokenizer));
  return statSync(join(dir, 'model.safetensors')).size;
}

/** Runs `code` in a fresh node (with tsx) and returns its peak RSS in bytes and wall time. */
function child(code: string): { rss: number; seconds: number } {
  const started = performance.now();
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `${code}\nconsole.log(process.resourceUsage().maxRSS)`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return {
    rss: Number(out.trim().split('\n').at(-1)) * 1024,
    seconds: (performance.now() - started) / 1000,
  };
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
const work = mkdtempSync(join(tmpdir(), 'textgen-bench-convert-'));
try {
  const src = join(work, 'src');
  mkdirSync(src);
  const size = writeCheckpoint(src);
  const idle = child(`await import('./generation/convert/convert.ts');`);
  console.log(
    `checkpoint: ${shape.layers} layers, ${mb(size)} bf16; idle child RSS ${mb(idle.rss)}`,
  );
  console.log('(machine shared with other jobs: times are indicative)');
  for (const dtype of String(values.dtypes).split(',')) {
    const out = join(work, dtype);
    const r = child(
      `const { convertModel } = await import('./generation/convert/run-convert.ts');
       await convertModel({ source: ${JSON.stringify(src)}, output: ${JSON.stringify(out)}, dtype: '${dtype}' });`,
    );
    const written = execFileSync('du', ['-sb', out], { encoding: 'utf8' }).split('\t')[0];
    console.log(
      `${dtype.padEnd(5)} peak RSS ${mb(r.rss)} (${(r.rss / size).toFixed(2)}× the checkpoint, ${mb(r.rss - idle.rss)} above idle), ` +
        `output ${mb(Number(written))}, ${r.seconds.toFixed(1)} s`,
    );
    rmSync(out, { recursive: true, force: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
