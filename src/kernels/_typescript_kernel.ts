/**
 * The TypeScript batch kernel and the passes both kernels share: the
 * confounds' moments, the corrected two-pass for columns far from zero, and
 * exact zero variance for exactly constant columns.
 *
 * @module
 */

import type { BatchMoments, KernelArray } from "../core/batch_moments.ts";
import { isConstantColumn } from "../core/constant_column.ts";

const EPSILON = Number.EPSILON;

/**
 * Whether a column whose sum of squares is tiny is in fact exactly constant.
 *
 * A constant column's mean is not always its value in floating point (summing
 * 0.1 three times), which leaves rounding residue in its sum of squares and a
 * meaningless correlation of ±1. Only columns whose sum of squares is within
 * that residue are scanned, so the check costs nothing on ordinary data.
 */
function mayBeConstant(
  m2: number,
  mean: number,
  count: number,
  epsilon: number = EPSILON,
): boolean {
  const residue = count * count * count * 16 * epsilon * epsilon * mean * mean;
  return m2 !== 0 && m2 <= residue;
}

/** Columns whose mean exceeds this many spreads get the corrected two-pass. */
const OFFSET_RISK = 1e4;

/**
 * The corrected two-pass algorithm (Chan, Golub and LeVeque) for columns far
 * from zero relative to their spread, such as `1e9 + noise`.
 *
 * A first-pass mean `m` of such a column is off by its summation error `δ`,
 * which is not small next to the spread. The deviations `d = x − m` are exact
 * there, and `Σd = B·δ`, so `M2 = Σd² − (Σd)²/B`, `C = Σdx·dn − Σdx·Σdn/B`
 * and the mean `m + Σd/B` come out right to rounding (plain two-pass was off
 * by up to 1e-11 in r on `1e9 + noise` batches). Elsewhere the correction is
 * below rounding, so only columns past {@linkcode OFFSET_RISK} spreads pay the
 * extra pass; the confounds, being few, always get it.
 */
export function correctOffsetMeans(
  x: KernelArray,
  centredN: Float64Array,
  B: number,
  F: number,
  M: number,
  out: BatchMoments,
  flagged: Int32Array,
): void {
  const { meanX, m2X, meanN, m2N, comoment } = out;
  const offsetN = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let sum = 0;
    for (let b = 0; b < B; b++) sum += centredN[m * B + b]!;
    offsetN[m] = sum;
    m2N[m] = Math.max(m2N[m]! - (sum * sum) / B, 0);
    meanN[m]! += sum / B;
  }
  // Only flagged columns can be far from zero (see unusualFeatures).
  for (let i = 0; i < flagged.length; i++) {
    const f = flagged[i]!;
    const mean = meanX[f]!;
    if (!(Math.abs(mean) > OFFSET_RISK * Math.sqrt(m2X[f]! / B))) continue;
    let sum = 0;
    for (let b = 0; b < B; b++) sum += x[b * F + f]! - mean;
    if (sum === 0) continue;
    m2X[f] = Math.max(m2X[f]! - (sum * sum) / B, 0);
    meanX[f] = mean + sum / B;
    for (let m = 0; m < M; m++) comoment[f * M + m]! -= (sum * offsetN[m]!) / B;
  }
}

/**
 * The feature columns whose moments may need one of the checks after the
 * kernel: a sum of squares below 1e-250, zero or NaN (underflow, zero
 * variance, a constant column's mean to pin), a non-finite mean or sum of
 * squares, a mean more than {@linkcode OFFSET_RISK} spreads from zero (the
 * corrected two-pass, the means' low parts), or a sum of squares within a
 * constant column's rounding residue (see mayBeConstant). Every check after
 * the kernel visits only these, so ordinary data pays one pass over F; the
 * WebAssembly kernel computes the same list (`flag_features`).
 *
 * @param meanX The features' means.
 * @param m2X Their sums of squares.
 * @param B The batch size.
 * @param epsilon The unit roundoff the features were centred with.
 * @returns The flagged columns, ascending.
 */
export function unusualFeatures(
  meanX: Float64Array,
  m2X: Float64Array,
  B: number,
  epsilon: number = EPSILON,
): Int32Array {
  const flagged: number[] = [];
  const residue = B * B * B * 16 * epsilon * epsilon;
  for (let f = 0; f < m2X.length; f++) {
    const mean = meanX[f]!, m2 = m2X[f]!;
    if (
      !(m2 >= 1e-250) || (mean - mean) + (m2 - m2) !== 0 ||
      Math.abs(mean) > OFFSET_RISK * Math.sqrt(m2 / B) || m2 <= residue * mean * mean
    ) {
      flagged.push(f);
    }
  }
  return Int32Array.from(flagged);
}

/** float32's unit roundoff: the fast kernel centres in float32. */
export const FLOAT32_EPSILON = 2 ** -23;

/** Means and sums of squares of the confounds; returns them centred, `(M, B)`. */
export function confoundMoments(
  n: KernelArray,
  B: number,
  M: number,
  out: BatchMoments,
): Float64Array {
  const { meanN, m2N } = out;
  const centred = new Float64Array(M * B);
  for (let m = 0; m < M; m++) {
    const row = m * B;
    let sum = 0;
    for (let b = 0; b < B; b++) sum += n[row + b]!;
    const mean = sum / B;
    let ss = 0;
    for (let b = 0; b < B; b++) {
      const d = n[row + b]! - mean;
      centred[row + b] = d;
      ss += d * d;
    }
    meanN[m] = mean;
    m2N[m] = ss;
  }
  return centred;
}

/** The scalar kernel over X: means, then centred sums in sample order. */
export function typescriptFeatureMoments(
  x: KernelArray,
  centredN: Float64Array,
  B: number,
  F: number,
  M: number,
  out: BatchMoments,
): void {
  const { meanX, m2X, comoment } = out;
  meanX.fill(0);
  m2X.fill(0);
  comoment.fill(0);

  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) meanX[f]! += x[row + f]!;
  }
  for (let f = 0; f < F; f++) meanX[f]! /= B;

  const sample = new Float64Array(M);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let m = 0; m < M; m++) sample[m] = centredN[m * B + b]!;
    if (M === 1) {
      const c0 = sample[0]!;
      for (let f = 0; f < F; f++) {
        const d = x[row + f]! - meanX[f]!;
        m2X[f]! += d * d;
        comoment[f]! += d * c0;
      }
    } else {
      for (let f = 0; f < F; f++) {
        const d = x[row + f]! - meanX[f]!;
        m2X[f]! += d * d;
        const base = f * M;
        for (let m = 0; m < M; m++) comoment[base + m]! += d * sample[m]!;
      }
    }
  }
}

/**
 * Exactly constant columns: sum of squares 0 and co-moments 0 (see
 * mayBeConstant), among the flagged features (see unusualFeatures).
 * `featureEpsilon` is the unit roundoff the features were centred with
 * (float32's for the fast kernel).
 */
export function zeroConstantColumns(
  x: KernelArray,
  n: KernelArray,
  B: number,
  F: number,
  M: number,
  out: BatchMoments,
  flagged: Int32Array,
  featureEpsilon: number = EPSILON,
): void {
  const { meanX, m2X, meanN, m2N, comoment } = out;
  for (let m = 0; m < M; m++) {
    if (mayBeConstant(m2N[m]!, meanN[m]!, B) && isConstantColumn(n, m * B, 1, B)) m2N[m] = 0;
  }
  for (let i = 0; i < flagged.length; i++) {
    const f = flagged[i]!;
    if (mayBeConstant(m2X[f]!, meanX[f]!, B, featureEpsilon) && isConstantColumn(x, f, F, B)) {
      m2X[f] = 0;
      comoment.fill(0, f * M, f * M + M);
    }
  }
  for (let m = 0; m < M; m++) {
    if (m2N[m] === 0) { for (let f = 0; f < F; f++) comoment[f * M + m] = 0; }
  }
}
