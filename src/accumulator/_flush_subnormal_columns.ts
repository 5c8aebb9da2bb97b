/**
 * Sums of squares in float64's subnormal range, flushed to zero variance.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";

/** float64's smallest normal number: below it a sum of squares keeps only an absolute precision. */
const SMALLEST_NORMAL = 2 ** -1022;

/**
 * Gives every column whose sum of squares is below 2⁻¹⁰²² (subnormal, or 0)
 * exactly zero variance: the sum of squares and the column's co-moments
 * become 0. Such a sum has no relative precision left (a decayed variance
 * fading out, or a restored snapshot's), and beside it a co-moment that the
 * Cauchy–Schwarz check must allow for rounding would read as |r| > 1. The
 * library's own states hold none: a constant column's co-moments are 0
 * already, and a merge whose varying columns would underflow is refused.
 *
 * @param state The moments, changed in place.
 * @returns Whether a column was flushed.
 */
export function flushSubnormalColumns(state: BatchMoments): boolean {
  const { features: F, confounds: M, m2X, m2N, comoment } = state;
  let flushed = false;
  for (let f = 0; f < F; f++) {
    if (m2X[f]! < SMALLEST_NORMAL && (m2X[f] !== 0 || rowHasComoment(comoment, f, M))) {
      m2X[f] = 0;
      comoment.fill(0, f * M, f * M + M);
      flushed = true;
    }
  }
  for (let m = 0; m < M; m++) {
    if (m2N[m]! < SMALLEST_NORMAL && (m2N[m] !== 0 || columnHasComoment(comoment, m, F, M))) {
      m2N[m] = 0;
      for (let f = 0; f < F; f++) comoment[f * M + m] = 0;
      flushed = true;
    }
  }
  return flushed;
}

function rowHasComoment(comoment: Float64Array, f: number, M: number): boolean {
  for (let m = 0; m < M; m++) if (comoment[f * M + m] !== 0) return true;
  return false;
}

function columnHasComoment(comoment: Float64Array, m: number, F: number, M: number): boolean {
  for (let f = 0; f < F; f++) if (comoment[f * M + m] !== 0) return true;
  return false;
}
