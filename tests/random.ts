/**
 * The seeded random numbers the tests share, so that a failure reproduces.
 *
 * @module
 */

/**
 * mulberry32: a small, fast 32-bit generator, good enough for test data.
 *
 * @param seed Any integer.
 * @returns A function returning numbers in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
