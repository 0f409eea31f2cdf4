// Which arm serves a PredictAgents call during a canary: the challenger serves a stated share.
// With a routing key the choice is a hash of the key, so the same key always lands on the same
// arm (sticky: a session or task sees one model for the whole rollout); without one it is a fresh
// draw per call. The hash is FNV-1a (32 bits) of the key's UTF-16 code units, enough to spread
// keys evenly and cheap on the hot path; it is not meant to resist chosen keys.

/** A point in [0, 1) fixed by the key. */
export function routingPoint(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche (murmur3's fmix32) so keys differing in their last character spread too.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/** Whether the challenger serves this call: its share of keys (by hash), or of calls (by draw) when the key is empty. */
export function servesChallenger(share: number, key: string, random: () => number): boolean {
  return (key === "" ? random() : routingPoint(key)) < share;
}
