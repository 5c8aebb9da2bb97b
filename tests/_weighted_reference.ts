/**
 * The reference for decay views: weighted Pearson correlations computed
 * directly (two-pass weighted means, then weighted co-moments), with batch k
 * of K weighted decay^(K − 1 − k), independent of the accumulator's merges.
 * For one feature axis only: X of shape (B, F), the result (F, M) row-major
 * (with more feature axes hypercoil orders the features axes-reversed).
 *
 * @module
 */

import type { DenseBatch } from "./fuzz_support.ts";

/** Feature-by-confound correlations (F·M, row-major) and the effective count of the weights. */
export function decayedCorrelations(
  batches: readonly DenseBatch[],
  decay: number,
): { r: Float64Array; effectiveCount: number } {
  const F = batches[0]!.x.data.length / batches[0]!.x.shape[0]!;
  const M = batches[0]!.n.shape[0]!;
  const K = batches.length;
  const weightOf = (k: number) => decay ** (K - 1 - k);
  let total = 0, squares = 0;
  const meanX = new Float64Array(F), meanN = new Float64Array(M);
  batches.forEach((batch, k) => {
    const B = batch.x.shape[0]!, w = weightOf(k);
    total += w * B;
    squares += w * w * B;
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) meanX[f]! += w * batch.x.data[b * F + f]!;
      for (let m = 0; m < M; m++) meanN[m]! += w * batch.n.data[m * B + b]!;
    }
  });
  for (let f = 0; f < F; f++) meanX[f]! /= total;
  for (let m = 0; m < M; m++) meanN[m]! /= total;
  const sxx = new Float64Array(F), snn = new Float64Array(M), sxn = new Float64Array(F * M);
  batches.forEach((batch, k) => {
    const B = batch.x.shape[0]!, w = weightOf(k);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        const dx = batch.x.data[b * F + f]! - meanX[f]!;
        sxx[f]! += w * dx * dx;
        for (let m = 0; m < M; m++) {
          sxn[f * M + m]! += w * dx * (batch.n.data[m * B + b]! - meanN[m]!);
        }
      }
      for (let m = 0; m < M; m++) {
        const dn = batch.n.data[m * B + b]! - meanN[m]!;
        snn[m]! += w * dn * dn;
      }
    }
  });
  const r = new Float64Array(F * M);
  for (let f = 0; f < F; f++) {
    for (let m = 0; m < M; m++) r[f * M + m] = sxn[f * M + m]! / Math.sqrt(sxx[f]! * snn[m]!);
  }
  return { r, effectiveCount: total * total / squares };
}
