// Per-tree feature sampling (featureFraction < 1), the trainer's only randomness. It comes from a
// small seeded generator, never Math.random, so a seed reproduces a model bit for bit.

/** A 32-bit seeded generator (mulberry32-style mixing): uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Returns a function giving each tree its allowed features (1 = allowed, by feature index), or
 * undefined for every tree when fraction is 1. At least one usable feature is always allowed.
 */
export function featureSampler(usable: Uint32Array, featureCount: number, fraction: number, seed: number): () => Uint8Array | undefined {
  if (fraction >= 1) return () => undefined;
  const random = seededRandom(seed);
  const take = Math.max(1, Math.round(fraction * usable.length));
  const pool = Uint32Array.from(usable);
  const allowed = new Uint8Array(featureCount);
  return () => {
    allowed.fill(0);
    // Partial Fisher–Yates: the first `take` slots become a uniform sample without replacement.
    for (let i = 0; i < take && i < pool.length; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      const tmp = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = tmp;
      allowed[pool[i]!] = 1;
    }
    return allowed;
  };
}
