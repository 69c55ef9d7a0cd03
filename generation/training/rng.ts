/**
 * The trainer's seeded PRNG (mulberry32). Not the sampler's xoshiro128** (processors/sampler.ts, the
 * RNG everything else uses) on purpose: its state is one integer that checkpoints store and resume
 * from, and the embedded default model was trained with this exact sequence (`npm run train:default`
 * reproduces it).
 */

/** A seeded random source with a serialisable state. */
export class Rng {
  state: number;

  /** Seeds the generator; equal seeds give equal sequences. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A standard normal sample (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
