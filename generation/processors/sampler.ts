/**
 * Token choice: a seeded, portable PRNG (xoshiro128** seeded through splitmix64), greedy argmax and
 * multinomial sampling by inverse CDF. All arithmetic that decides a token is done in float64 or pure 32-bit integer math, so
 * the same seed and settings give the same tokens on every run and machine.
 */
import { randomBytes } from 'node:crypto';
import { TextgenError } from '../errors.js';
import { rowMax } from '../softmax.js';

/** A deterministic source of random numbers. */
export interface Rng {
  /** The seed this generator was created from (reported so a run can be repeated). */
  readonly seed: number;
  /** Next uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number;
  /** Next double, uniform in [0, 1), built from 53 random bits. */
  nextFloat(): number;
}

const MASK64 = (1n << 64n) - 1n;

/** splitmix64 (Vigna), the generator the xoshiro authors recommend for seeding; BigInt only at seeding. */
function splitmix64(state: { s: bigint }): bigint {
  state.s = (state.s + 0x9e3779b97f4a7c15n) & MASK64;
  let z = state.s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** Picks a random seed in [0, 2^53) for runs without --seed. */
export function randomSeed(): number {
  const b = randomBytes(8);
  return (b.readUInt32LE(0) & 0x1fffff) * 2 ** 32 + b.readUInt32LE(4);
}

/**
 * Creates xoshiro128** (Blackman & Vigna) seeded with two splitmix64 outputs: state words are the low
 * and high halves of each output. `seed` must be an integer in [0, 2^53); undefined picks one at random.
 */
export function createRng(seed: number = randomSeed()): Rng {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`seed must be a non-negative safe integer (got ${seed})`);
  const sm = { s: BigInt(seed) };
  const a = splitmix64(sm);
  const b = splitmix64(sm);
  const s = new Uint32Array([
    Number(a & 0xffffffffn),
    Number(a >> 32n),
    Number(b & 0xffffffffn),
    Number(b >> 32n),
  ]);
  const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  return {
    seed,
    nextUint32,
    nextFloat: () => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992,
  };
}

/** Index of the largest value; ties go to the lowest index, as torch.argmax. NaN is never chosen. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    if (values[i] > bestValue) {
      best = i;
      bestValue = values[i];
    }
  }
  return best;
}

/** Chooses the next token from one processed row of logits. */
export interface Sampler {
  readonly name: 'greedy' | 'multinomial';
  sample(logits: Float32Array): number;
}

/** Greedy decoding: argmax, lowest index on ties. */
export function createGreedySampler(): Sampler {
  return { name: 'greedy', sample: (logits) => argmax(logits) };
}

/**
 * Multinomial sampling: one uniform draw u ∈ [0, 1) per token, scaled by the total unnormalised mass,
 * and the first token (in vocabulary order) whose cumulative mass exceeds it is chosen. Filtered
 * (−Infinity) tokens have zero mass and are never chosen.
 */
export function createMultinomialSampler(rng: Rng): Sampler {
  let weights = new Float64Array(0);
  return {
    name: 'multinomial',
    sample(logits) {
      if (weights.length !== logits.length) weights = new Float64Array(logits.length);
      const max = rowMax(logits);
      if (max === Number.NEGATIVE_INFINITY || Number.isNaN(max)) {
        throw new TextgenError('Every token was filtered out before sampling.', {
          hint: 'Loosen bad_words_ids, suppress_tokens or logit_bias.',
        });
      }
      let total = 0;
      let last = 0;
      for (let i = 0; i < logits.length; i++) {
        const w = Math.exp(logits[i] - max);
        weights[i] = w;
        total += w;
        if (w > 0) last = i;
      }
      const target = rng.nextFloat() * total;
      let acc = 0;
      for (let i = 0; i < logits.length; i++) {
        acc += weights[i];
        if (target < acc) return i;
      }
      // Rounding can leave acc a hair below total for a draw very close to 1.
      return last;
    },
  };
}

/** The sampler the settings call for: multinomial when sampling, greedy otherwise. */
export function createSampler(settings: { do_sample: boolean; seed?: number }, rng?: Rng): Sampler {
  return settings.do_sample
    ? createMultinomialSampler(rng ?? createRng(settings.seed))
    : createGreedySampler();
}
