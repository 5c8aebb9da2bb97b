/**
 * The merge of a batch into a running state with its range checks folded in:
 * underflow of a varying column and overflow of the merged values are refused,
 * and a refusal leaves the state as it was.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import { mergeMoments } from "../core/moment_algebra.ts";
import { UNDERFLOW_RISK } from "../core/numeric_range.ts";
import {
  addToMean,
  meanDifference,
  type MeanLowParts,
  ownLowPart,
  type PreciseMoments,
} from "../core/precise_means.ts";
import { RANGE_ADVICE } from "./accumulable_moments.ts";

/**
 * Throws if merging `b` into `a` would leave a varying column with a sum of
 * squares that underflowed: samples that differ by less than about 1e-125,
 * e.g. batches of one sample each.
 */
function checkMergeUnderflow(a: PreciseMoments, b: PreciseMoments, context: string): void {
  if (a.count === 0 || b.count === 0) return;
  const k = a.count * b.count / (a.count + b.count);
  const check = (
    m2A: Float64Array,
    m2B: Float64Array,
    [meanA, loA]: [Float64Array, Float64Array | undefined],
    [meanB, loB]: [Float64Array, Float64Array | undefined],
    side: string,
  ): void => {
    for (let i = 0; i < m2A.length; i++) {
      const delta = meanDifference(meanA[i]!, loA?.[i] ?? 0, meanB[i]!, loB?.[i] ?? 0);
      const varies = delta !== 0 || m2A[i]! > 0 || m2B[i]! > 0;
      if (varies && m2A[i]! + m2B[i]! + k * delta * delta < UNDERFLOW_RISK) {
        throw new RangeError(
          `Cannot ${context} as the squared deviations of every column must stay within float64 range: ${side} ${i} underflows when merged with the state (its sum of squares is below 1e-250 though it varies); ${RANGE_ADVICE}`,
        );
      }
    }
  };
  check(a.m2X, b.m2X, [a.meanX, a.meanXLo], [b.meanX, ownLowPart(b, "meanXLo")], "feature column");
  check(a.m2N, b.m2N, [a.meanN, a.meanNLo], [b.meanN, ownLowPart(b, "meanNLo")], "confound");
}

/**
 * A merged sum of squares at or above this cannot be one that
 * {@linkcode checkMergeUnderflow} refuses (its threshold is half of it), even
 * though the check rounds its weight `nA·nB/n` differently from the merge.
 */
const UNDERFLOW_SUSPECT = 2 * UNDERFLOW_RISK;

/**
 * `mergeMoments(a, b, out)` (with `out` not `a`) followed by
 * {@linkcode checkMergeUnderflow} and {@linkcode checkMergedFinite}, with the
 * checks folded into the merge's single pass: a stream merges every batch
 * into its running state, and three passes over the state cost more than the
 * merge itself. The merged values are those of `mergeMoments`, operation for
 * operation; a column that might underflow sends the original check over the
 * inputs, so the same column is reported with the same message. Nothing is
 * written outside `out`, so a throw leaves `a` as it was.
 */
export function mergeChecked(
  a: BatchMoments & MeanLowParts,
  b: PreciseMoments,
  out: BatchMoments & MeanLowParts,
  context: string,
): void {
  const nA = a.count, nB = b.count, n = nA + nB;
  if (nA === 0 || nB === 0) {
    mergeMoments(a, b, out);
    checkMergedFinite(out, context);
    return;
  }
  const F = a.features, M = a.confounds;
  const shareB = nB / n;
  const k = nA * shareB;
  const deltaN = new Float64Array(M);
  // b's own low parts only (a backend's moments have none; Object.prototype's are not b's).
  const loNB = ownLowPart(b, "meanNLo"), loXB = ownLowPart(b, "meanXLo");
  for (let m = 0; m < M; m++) {
    deltaN[m] = meanDifference(a.meanN[m]!, a.meanNLo[m]!, b.meanN[m]!, loNB ? loNB[m]! : 0);
  }
  const { meanX: hiXA, meanXLo: loXA, m2X: m2XA, comoment: cA } = a;
  const { meanX: hiXB, m2X: m2XB, comoment: cB } = b;
  const { meanX: hiOut, meanXLo: loOut, m2X: m2Out, comoment: cOut } = out;
  let suspect = false;
  // Stays 0 while every merged mean and sum of squares is finite (x − x is NaN for ±Infinity and NaN).
  let poison = 0;
  const dn0 = deltaN[0]!;
  for (let f = 0; f < F; f++) {
    const hiA = hiXA[f]!, loA = loXA[f]!;
    const dx = meanDifference(hiA, loA, hiXB[f]!, loXB ? loXB[f]! : 0);
    const kdx = k * dx;
    if (M === 1) {
      cOut[f] = cA[f]! + cB[f]! + kdx * dn0;
    } else {
      const base = f * M;
      for (let m = 0; m < M; m++) cOut[base + m] = cA[base + m]! + cB[base + m]! + kdx * deltaN[m]!;
    }
    const m2A = m2XA[f]!, m2B = m2XB[f]!;
    const m2 = m2A + m2B + kdx * dx;
    m2Out[f] = m2;
    if (!(m2 >= UNDERFLOW_SUSPECT) && (dx !== 0 || m2A > 0 || m2B > 0)) suspect = true;
    addToMean(hiOut, loOut, f, hiA, loA, dx * shareB);
    const mean = hiOut[f]!;
    poison += (mean - mean) + (m2 - m2);
  }
  for (let m = 0; m < M; m++) {
    const dn = deltaN[m]!;
    const m2A = a.m2N[m]!, m2B = b.m2N[m]!;
    const m2 = m2A + m2B + k * dn * dn;
    out.m2N[m] = m2;
    if (!(m2 >= UNDERFLOW_SUSPECT) && (dn !== 0 || m2A > 0 || m2B > 0)) suspect = true;
    addToMean(out.meanN, out.meanNLo, m, a.meanN[m]!, a.meanNLo[m]!, dn * shareB);
    const mean = out.meanN[m]!;
    poison += (mean - mean) + (m2 - m2);
  }
  out.count = n;
  if (suspect) checkMergeUnderflow(a, b, context);
  if (poison !== 0) checkMergedFinite(out, context);
}

export function checkMergedFinite(moments: BatchMoments, context: string): void {
  const vectors = [moments.meanX, moments.meanN, moments.m2X, moments.m2N];
  for (const vector of vectors) {
    for (let i = 0; i < vector.length; i++) {
      if (!Number.isFinite(vector[i]!)) {
        throw new RangeError(
          `Cannot ${context} as the merged means and sums of squares must be within float64 range: the batch's values overflow when merged with the state`,
        );
      }
    }
  }
}
