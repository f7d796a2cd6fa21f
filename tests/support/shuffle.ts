// Seeded shuffles for tests that deliver events in any order: a failing order can be
// replayed from its seed.

/** mulberry32: a small seeded generator of numbers in [0, 1). */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let r = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
  return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
};

/** `items` in an order that depends on `seed` alone (Fisher–Yates). */
export const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  const next = random(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};
