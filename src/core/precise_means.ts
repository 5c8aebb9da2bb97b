/**
 * Means kept in double-double form (`mean = hi + lo`) inside the running
 * state, so merging batches of data far from zero (`1e9 + noise`) does not
 * lose the digits that a float64 mean rounds away.
 *
 * A float64 mean of values near 1e9 is good to half an ulp, 6e-8, which is
 * not small next to a spread of 0.3: the merge's `δ = x̄B − x̄A` inherits
 * that error and so does every co-moment. The low part `lo` carries the
 * mean's rounding error; merges use `δ = (hiB − hiA) + (loB − loA)` and add
 * to the mean with TwoSum, so `hi + lo` stays exact to about 1e-32 relative.
 *
 * @module
 */

import { type BatchMoments, emptyMoments } from "./batch_moments.ts";
import type { PreparedBatch } from "./prepare_batch.ts";

/** The low parts of the means: `meanX + meanXLo` is the mean, to double-double precision. */
export interface MeanLowParts {
  /** Low part of each feature's mean, length F. */
  meanXLo: Float64Array;
  /** Low part of each confound's mean, length M. */
  meanNLo: Float64Array;
}

/** Moments whose means may carry low parts (absent: exactly 0, as from a backend). */
export type PreciseMoments = BatchMoments & Partial<MeanLowParts>;

/**
 * A low part the moments object holds itself, or undefined (exactly 0):
 * never one only Object.prototype holds, as moments from a backend or
 * `updateMoments` have none of their own.
 *
 * @param moments The moments.
 * @param key Which low part.
 * @returns The low parts, or undefined.
 */
export function ownLowPart(
  moments: PreciseMoments,
  key: keyof MeanLowParts,
): Float64Array | undefined {
  return Object.hasOwn(moments, key) ? moments[key] : undefined;
}

/**
 * A column gets a low part when its mean is this many spreads (√(M2/B)) from
 * zero or more. Below it, the mean's rounding (≤ 1.1e-16·|mean|) is at most
 * 1.1e-12 of a spread, far under any tolerance that matters for r, and the
 * extra pass is skipped.
 */
export const LOW_PART_RISK = 1e4;

/**
 * Allocates zeroed moments with low parts.
 *
 * @param features F.
 * @param confounds M.
 * @returns The moments.
 */
export function emptyPreciseMoments(
  features: number,
  confounds: number,
): BatchMoments & MeanLowParts {
  return {
    ...emptyMoments(features, confounds),
    meanXLo: new Float64Array(features),
    meanNLo: new Float64Array(confounds),
  };
}

/**
 * Only the eight `BatchMoments` fields, so moments from outside (a backend, a
 * caller of `updateMoments`) never bring low parts of their own.
 *
 * @param moments The moments.
 * @returns A new object sharing the arrays.
 */
export function withoutLowParts(moments: BatchMoments): BatchMoments {
  const { count, features, confounds, meanX, meanN, m2X, m2N, comoment } = moments;
  return { count, features, confounds, meanX, meanN, m2X, m2N, comoment };
}

function atRisk(mean: number, m2: number, count: number): boolean {
  // A constant column (m2 = 0) has its mean pinned to the constant: its low part is exactly 0.
  return m2 > 0 && Math.abs(mean) > LOW_PART_RISK * Math.sqrt(m2 / count);
}

/**
 * Fills the low parts of a batch's means: `lo = Σ (v − hi) / B` for the
 * columns whose mean is far from zero relative to their spread (see
 * {@linkcode LOW_PART_RISK}), 0 elsewhere. There `v − hi` is exact (Sterbenz:
 * `v` and `hi` are within a factor 2), so `lo` is the mean's rounding error to
 * about 1e-16 of itself. Costs one pass over those columns only.
 *
 * @param moments The batch's moments, means already pinned (modified).
 * @param batch The batch they were computed from.
 * @param flagged The features the kernel flagged, when it listed them (every
 * column at risk is among them); all F otherwise.
 * @returns `moments`.
 */
export function fillLowParts(
  moments: BatchMoments & MeanLowParts,
  batch: PreparedBatch,
  flagged?: Int32Array,
): BatchMoments & MeanLowParts {
  const { features: F, confounds: M, count: B, x, n } = batch;
  const { meanX, meanN, m2X, m2N, meanXLo, meanNLo } = moments;
  meanXLo.fill(0);
  meanNLo.fill(0);
  const risky: number[] = [];
  const columns = flagged ? flagged.length : F;
  for (let i = 0; i < columns; i++) {
    const f = flagged ? flagged[i]! : i;
    if (atRisk(meanX[f]!, m2X[f]!, B)) risky.push(f);
  }
  if (risky.length > 0) {
    for (let b = 0; b < B; b++) {
      const row = b * F;
      for (const f of risky) meanXLo[f]! += x[row + f]! - meanX[f]!;
    }
    for (const f of risky) meanXLo[f]! /= B;
  }
  for (let m = 0; m < M; m++) {
    if (!atRisk(meanN[m]!, m2N[m]!, B)) continue;
    const hi = meanN[m]!, row = m * B;
    let sum = 0;
    for (let b = 0; b < B; b++) sum += n[row + b]! - hi;
    meanNLo[m] = sum / B;
  }
  return moments;
}

/**
 * `(hiB + loB) − (hiA + loA)`, the difference of two double-double means,
 * rounded once more to float64: accurate to rounding of the difference itself,
 * however large the means.
 *
 * @param hiA The first mean's high part.
 * @param loA Its low part.
 * @param hiB The second mean's high part.
 * @param loB Its low part.
 * @returns The difference.
 */
export function meanDifference(hiA: number, loA: number, hiB: number, loB: number): number {
  return (hiB - hiA) + (loB - loA);
}

/**
 * Writes the mean `hiBefore + loBefore + step` into `hi[i]`, `lo[i]`, with
 * Knuth's TwoSum, so the rounding error of the new high part lands in the low
 * part (normalised: `|lo| ≤ ulp(hi)/2`). Without low-part storage the high
 * part alone is kept.
 *
 * @param hi High parts to write.
 * @param lo Low parts to write, or undefined.
 * @param i The column.
 * @param hiBefore The mean's high part before the step.
 * @param loBefore Its low part (0 when there is none).
 * @param step The amount added, `δ·nB/n`.
 */
export function addToMean(
  hi: Float64Array,
  lo: Float64Array | undefined,
  i: number,
  hiBefore: number,
  loBefore: number,
  step: number,
): void {
  const a = hiBefore, b = loBefore + step;
  const s = a + b;
  hi[i] = s;
  if (!lo) return;
  const bb = s - a;
  // `+ 0` turns -0 into 0, so a JSON snapshot (which cannot tell them apart) restores the same bits.
  lo[i] = (a - (s - bb)) + (b - bb) + 0;
}
