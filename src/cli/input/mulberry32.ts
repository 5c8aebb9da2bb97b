/**
 * The seeded random numbers of the project: the synthetic drift data, the
 * tests, the benchmarks and the examples all draw from this one generator, so
 * that a seed means the same numbers everywhere.
 *
 * @module
 */

/**
 * mulberry32: a small, fast, seedable PRNG, good enough for test data; the
 * tests and benchmarks draw from it too.
 *
 * @param seed Any integer.
 * @returns A function returning numbers in [0, 1).
 *
 * @example The first draws of seed 1
 * ```ts
 * import { mulberry32 } from "./mulberry32.ts";
 * import assert from "node:assert/strict";
 *
 * const random = mulberry32(1);
 * assert.equal(random(), 0.6270739405881613);
 * assert.equal(random(), 0.002735721180215478);
 * ```
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
