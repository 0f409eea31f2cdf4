// A small seeded pseudo-random generator, so a simulation and every test of it replay exactly
// from a number. The core is mulberry32 (a 32-bit state advanced by a Weyl sequence and mixed by
// multiply-xorshift steps): tiny, fast, and statistically good enough for drawing synthetic
// outcomes, though of course not for anything cryptographic.

/** A stream of pseudo-random numbers determined entirely by the seed it was created with. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** True with probability p (p outside [0, 1] is clamped by the comparison). */
  chance(p: number): boolean;
  /** Uniform integer in [0, n); n must be a positive integer. */
  int(n: number): number;
  /** Standard normal draw (mean 0, standard deviation 1). */
  normal(): number;
  /** One element of a non-empty list, each equally likely. */
  pick<T>(items: readonly T[]): T;
}

/** Creates the generator for a seed; any finite number works, only its low 32 bits count. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    chance: (p) => next() < p,
    int,
    // Box–Muller; 1 − u keeps the logarithm's argument in (0, 1].
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError("cannot pick from an empty list");
      return items[int(items.length)] as T;
    },
  };
}

/**
 * A fresh seed for a run whose user gave none: taken from the clock and Math.random, so two runs
 * in the same millisecond still differ. Printed in the run's summary so the run can be replayed.
 */
export function randomSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 4_294_967_296)) >>> 0;
}
