/**
 * The algebra of centred moments: Chan et al.'s parallel merge, copies,
 * scaling of weights (exponential forgetting), and the pinning of constant
 * columns' means that keeps merges of constants exact.
 *
 * @module
 */

import type { BatchMoments } from "./batch_moments.ts";
import {
  addToMean,
  emptyPreciseMoments,
  meanDifference,
  ownLowPart,
  type PreciseMoments,
} from "./precise_means.ts";
import type { PreparedBatch } from "./prepare_batch.ts";

/**
 * Merges the centred moments of two disjoint sample sets A and B into those of
 * their union, with the parallel update of Chan, Golub & LeVeque (1979).
 *
 * Derivation, for one feature x and one confound y, with counts `nA`, `nB`,
 * `n = nA + nB`, means `x̄A`, `x̄B` and `δx = x̄B − x̄A` (likewise `δy`):
 *
 * - The union's mean is `x̄ = (nA·x̄A + nB·x̄B) / n = x̄A + δx·nB/n`.
 * - Every sample of A deviates from `x̄` by its deviation from `x̄A` minus
 *   `δx·nB/n`, and every sample of B by its deviation from `x̄B` plus
 *   `δx·nA/n`. Deviations from a set's own mean sum to zero, so the cross
 *   terms vanish when the co-moment `C = Σ (x − x̄)(y − ȳ)` is expanded:
 *   `C = CA + nA·(δx·nB/n)(δy·nB/n) + CB + nB·(δx·nA/n)(δy·nA/n)
 *      = CA + CB + (nA·nB/n)·δx·δy`.
 * - With y = x this is the sum of squares: `M2x = M2xA + M2xB + (nA·nB/n)·δx²`.
 *
 * Only differences of means enter, never raw sums of squares, so data such as
 * `1e9 + noise` keep their digits. Means may carry low parts (double-double,
 * see `precise_means.ts`): then `δ = (hiB − hiA) + (loB − loA)` and the mean
 * is updated with TwoSum, so the union's mean keeps every digit too; a float64
 * mean of values near 1e9 is only good to 6e-8, which is not small next to a
 * spread of 0.3. Missing low parts count as 0. The formula is symmetric in A and B, which
 * makes merging associative and order independent up to rounding. Counts may
 * be weights (the same algebra holds with `n` a sum of weights), which is how
 * exponential forgetting scales a state before merging.
 *
 * When both means agree exactly (`δ = 0`), nothing is added: exactly constant
 * columns keep a sum of squares of exactly 0 across merges, provided each
 * batch reports the constant itself as its mean (see `pinConstantMeans`), with
 * a low part of 0.
 *
 * `out` may be `a` or `b` itself: every element is read before it is written.
 *
 * @param a The moments of the first sample set.
 * @param b The moments of the second sample set (same F and M).
 * @param out Storage for the result; new storage when omitted.
 * @returns `out`, holding the moments of the union.
 * @throws {TypeError} If the two have different numbers of features or confounds.
 */
export function mergeMoments(
  a: PreciseMoments,
  b: PreciseMoments,
  out: PreciseMoments = emptyPreciseMoments(a.features, a.confounds),
): PreciseMoments {
  const F = a.features, M = a.confounds;
  if (b.features !== F || b.confounds !== M || out.features !== F || out.confounds !== M) {
    throw new TypeError(
      `Cannot merge moments as both must have the same numbers of features and confounds: current values are (${F}, ${M}) and (${b.features}, ${b.confounds})`,
    );
  }
  const nA = a.count, nB = b.count, n = nA + nB;
  if (nB === 0) return copyMoments(a, out);
  if (nA === 0) return copyMoments(b, out);
  const shareB = nB / n;
  const k = nA * shareB;
  const deltaN = new Float64Array(M);
  const loNA = ownLowPart(a, "meanNLo"), loNB = ownLowPart(b, "meanNLo");
  for (let m = 0; m < M; m++) {
    deltaN[m] = meanDifference(a.meanN[m]!, loNA?.[m] ?? 0, b.meanN[m]!, loNB?.[m] ?? 0);
  }
  const loXA = ownLowPart(a, "meanXLo"), loXB = ownLowPart(b, "meanXLo");
  const loXOut = ownLowPart(out, "meanXLo"), loNOut = ownLowPart(out, "meanNLo");
  for (let f = 0; f < F; f++) {
    const loA = loXA?.[f] ?? 0;
    const dx = meanDifference(a.meanX[f]!, loA, b.meanX[f]!, loXB?.[f] ?? 0);
    const kdx = k * dx;
    const base = f * M;
    for (let m = 0; m < M; m++) {
      out.comoment[base + m] = a.comoment[base + m]! + b.comoment[base + m]! + kdx * deltaN[m]!;
    }
    out.m2X[f] = a.m2X[f]! + b.m2X[f]! + kdx * dx;
    addToMean(out.meanX, loXOut, f, a.meanX[f]!, loA, dx * shareB);
  }
  for (let m = 0; m < M; m++) {
    const dn = deltaN[m]!;
    out.m2N[m] = a.m2N[m]! + b.m2N[m]! + k * dn * dn;
    addToMean(out.meanN, loNOut, m, a.meanN[m]!, loNA?.[m] ?? 0, dn * shareB);
  }
  out.count = n;
  return out;
}

/**
 * Copies moments into `out` (a no-op when they are the same object). Means
 * keep their low parts when both have storage for them; an `out` without it
 * gets each mean rounded to float64 (`hi + lo`); a `source` without low parts
 * gives low parts of 0.
 *
 * @param source The moments to copy.
 * @param out The storage to fill.
 * @returns `out`.
 */
export function copyMoments<T extends PreciseMoments>(source: PreciseMoments, out: T): T {
  if (source === out) return out;
  out.count = source.count;
  copyMeans(source.meanX, ownLowPart(source, "meanXLo"), out.meanX, ownLowPart(out, "meanXLo"));
  copyMeans(source.meanN, ownLowPart(source, "meanNLo"), out.meanN, ownLowPart(out, "meanNLo"));
  out.m2X.set(source.m2X);
  out.m2N.set(source.m2N);
  out.comoment.set(source.comoment);
  return out;
}

function copyMeans(
  hi: Float64Array,
  lo: Float64Array | undefined,
  outHi: Float64Array,
  outLo: Float64Array | undefined,
): void {
  outHi.set(hi);
  if (outLo) {
    if (lo) outLo.set(lo);
    else outLo.fill(0);
  } else if (lo) {
    for (let i = 0; i < hi.length; i++) outHi[i] = hi[i]! + lo[i]!;
  }
}

/**
 * Scales a state's weights by `factor` (exponential forgetting): the count,
 * sums of squares and co-moment scale, the means do not.
 *
 * @param source The state.
 * @param factor The weight multiplier, in (0, 1].
 * @param out Storage (may be `source`).
 * @returns `out`.
 */
export function scaleMoments(
  source: PreciseMoments,
  factor: number,
  out: PreciseMoments,
): PreciseMoments {
  if (factor === 1) return copyMoments(source, out);
  out.count = source.count * factor;
  copyMeans(source.meanX, ownLowPart(source, "meanXLo"), out.meanX, ownLowPart(out, "meanXLo"));
  copyMeans(source.meanN, ownLowPart(source, "meanNLo"), out.meanN, ownLowPart(out, "meanNLo"));
  for (let f = 0; f < source.features; f++) out.m2X[f] = source.m2X[f]! * factor;
  for (let m = 0; m < source.confounds; m++) out.m2N[m] = source.m2N[m]! * factor;
  const { comoment } = source;
  for (let i = 0; i < comoment.length; i++) out.comoment[i] = comoment[i]! * factor;
  return out;
}

/**
 * Sets the mean of every exactly constant column (sum of squares exactly 0) to
 * the constant itself. A computed mean such as `(0.1 + 0.1 + 0.1) / 3` is not
 * always the constant, and two batches of the same constant would then differ
 * by a rounding residue that the merge turns into a spurious variance.
 *
 * @param moments The batch's moments (modified).
 * @param batch The batch they were computed from.
 * @param flagged The features the kernel flagged, when it listed them (every
 * zero-variance column is among them); all F otherwise.
 * @returns `moments`.
 */
export function pinConstantMeans<T extends BatchMoments>(
  moments: T,
  batch: Pick<PreparedBatch, "x" | "n" | "count" | "features" | "confounds">,
  flagged?: Int32Array,
): T {
  const { features: F, count: B } = batch;
  const columns = flagged ? flagged.length : F;
  for (let i = 0; i < columns; i++) {
    const f = flagged ? flagged[i]! : i;
    // `+ 0` turns -0 into 0, so a snapshot's JSON (which cannot tell them apart) restores the same state.
    if (moments.m2X[f] === 0) moments.meanX[f] = batch.x[f]! + 0;
  }
  for (let m = 0; m < batch.confounds; m++) {
    if (moments.m2N[m] === 0) moments.meanN[m] = batch.n[m * B]! + 0;
  }
  return moments;
}

/**
 * The effective sample size `(Σw)² / Σw²` of a state (its count for unit weights).
 *
 * @param count Σw.
 * @param weightSquares Σw².
 * @returns The effective count.
 */
export function effectiveSampleSize(count: number, weightSquares: number): number {
  if (count === 0 || weightSquares === count) return count;
  return count * count / weightSquares;
}
