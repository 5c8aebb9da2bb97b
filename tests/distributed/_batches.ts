/**
 * Random mini-batches for the scale-out tests and the reference they are held
 * to: `batchCorr` of every batch concatenated.
 *
 * @module
 */

import assert from "node:assert/strict";
import { batchCorr, type CorrelationAccumulator } from "../../mod.ts";
import { concat, type DenseBatch, maxAbsDiff } from "../fuzz_support.ts";
import { mulberry32 } from "../random.ts";

export type { DenseBatch };

/** Settings of {@linkcode randomBatches}. */
export interface BatchPlan {
  count: number;
  seed: number;
  /** X's shape without the batch axis. @default [3] */
  featureShape?: number[];
  /** @default 2 */
  confounds?: number;
  /** Batch sizes are drawn from [minSize, maxSize]. @default 6 */
  minSize?: number;
  /** @default 24 */
  maxSize?: number;
}

/** Seeded batches whose features correlate with the first confound, with a distinct offset per batch. */
export function randomBatches(plan: BatchPlan): DenseBatch[] {
  const random = mulberry32(plan.seed);
  const featureShape = plan.featureShape ?? [3];
  const F = featureShape.reduce((a, b) => a * b, 1);
  const M = plan.confounds ?? 2;
  const minSize = plan.minSize ?? 6, maxSize = plan.maxSize ?? 24;
  return Array.from({ length: plan.count }, (_, k) => {
    const B = minSize + Math.floor(random() * (maxSize - minSize + 1));
    const n = new Float64Array(M * B);
    for (let i = 0; i < n.length; i++) n[i] = random() * 2 - 1 + 0.01 * k;
    const x = new Float64Array(B * F);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) x[b * F + f] = 0.6 * n[b]! * ((f % 3) - 1) + random() + 100 + k;
    }
    return { x: { data: x, shape: [B, ...featureShape] }, n: { data: n, shape: [M, B] } };
  });
}

/** The signed, unthresholded correlations of all batches concatenated, and the sample count. */
export function reference(batches: readonly DenseBatch[]): { r: Float64Array; count: number } {
  const whole = concat(batches);
  return { r: batchCorr(whole.x, whole.n, { abs: false }).data, count: whole.x.shape[0]! };
}

/** Asserts that a merged state has exactly the samples of `batches` and their correlations to `tolerance`. */
export function assertMatches(
  state: CorrelationAccumulator,
  batches: readonly DenseBatch[],
  tolerance = 1e-12,
): number {
  const expected = reference(batches);
  assert.equal(state.count, expected.count, "every sample counted exactly once");
  const difference = maxAbsDiff(state.correlations({ abs: false }).data, expected.r);
  assert.ok(difference <= tolerance, `max |r − reference| = ${difference} exceeds ${tolerance}`);
  return difference;
}
