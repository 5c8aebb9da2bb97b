/**
 * Float64 host data to float32 without losing the digits that carry the
 * correlations (SPEC section 6): each column is shifted by a float64
 * reference value, its first element, before it is rounded to float32.
 *
 * `1e6 + 0.01·noise` rounds to multiples of 0.0625 in float32, which leaves
 * the noise no digits; `(1e6 + 0.01·noise) − x₀` is computed in float64 and
 * only then rounded, so float32 keeps 24 bits of the deviations themselves.
 * Moments other than the means do not depend on the shift; the means get the
 * reference added back in float64.
 *
 * @module
 */

import type { BatchMoments, KernelArray } from "./batch_moments.ts";
import { isConstantColumn } from "./constant_column.ts";

/** A batch side shifted into float32, with the float64 reference of each column. */
export interface ShiftedFloat32 {
  /** The shifted values, in the layout of the input. */
  readonly values: Float32Array;
  /** The value subtracted from each column (its first element), in float64. */
  readonly reference: Float64Array;
}

/**
 * Shifts each feature column of a row-major `(B, F)` batch by its first
 * element, in float64, and rounds the result to float32.
 *
 * @param x Features, row-major `(B, F)` (float32 input is widened exactly).
 * @param count B.
 * @param features F.
 * @param out Storage of length B·F to reuse; new storage when omitted.
 * @returns The shifted float32 values and the first row as the reference.
 */
export function shiftFeaturesToFloat32(
  x: KernelArray,
  count: number,
  features: number,
  out: Float32Array = new Float32Array(count * features),
): ShiftedFloat32 {
  const F = features;
  const reference = Float64Array.from(x.subarray(0, F));
  for (let b = 0; b < count; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) out[row + f] = x[row + f]! - reference[f]!;
  }
  return { values: out, reference };
}

/**
 * Shifts each confound row of a row-major `(M, B)` batch by its first
 * sample, in float64, and rounds the result to float32.
 *
 * @param n Confounds, row-major `(M, B)`.
 * @param confounds M.
 * @param count B.
 * @param out Storage of length M·B to reuse; new storage when omitted.
 * @returns The shifted float32 values and each row's first sample as the reference.
 */
export function shiftConfoundsToFloat32(
  n: KernelArray,
  confounds: number,
  count: number,
  out: Float32Array = new Float32Array(confounds * count),
): ShiftedFloat32 {
  const B = count;
  const reference = new Float64Array(confounds);
  for (let m = 0; m < confounds; m++) {
    const row = m * B;
    const first = n[row]!;
    reference[m] = first;
    for (let b = 0; b < B; b++) out[row + b] = n[row + b]! - first;
  }
  return { values: out, reference };
}

/**
 * Adds the references back to the means of moments computed on shifted data
 * (every other moment is unchanged by a shift).
 *
 * @param moments Moments of the shifted batch, updated in place.
 * @param referenceX The features' references (length F), or undefined when X was not shifted.
 * @param referenceN The confounds' references (length M), or undefined when N was not shifted.
 * @returns `moments`.
 */
export function unshiftMeans<T extends BatchMoments>(
  moments: T,
  referenceX: Float64Array | undefined,
  referenceN: Float64Array | undefined,
): T {
  if (referenceX) {
    for (let f = 0; f < moments.features; f++) moments.meanX[f]! += referenceX[f]!;
  }
  if (referenceN) {
    for (let m = 0; m < moments.confounds; m++) moments.meanN[m]! += referenceN[m]!;
  }
  return moments;
}

/**
 * The sums of squared deviations a float32 graph handles safely once the
 * columns are shifted: every square, product and sum of B of them (B below
 * 2²⁶) then stays between float32's smallest normal (2⁻¹²⁶) and its largest
 * value (2¹²⁸), with room for the products of two columns.
 */
export const FLOAT32_SQUARES_RANGE: readonly [number, number] = [2 ** -100, 2 ** 100];

/** A column that float32 cannot carry even after the shift. */
export interface Float32Misfit {
  /** A feature column of X or a confound row of N. */
  readonly side: "features" | "confounds";
  /** Its index (natural column order for features). */
  readonly index: number;
  /** Its sum of squared deviations as the float32 computation found it. */
  readonly squares: number;
}

function fits(squares: number): boolean {
  return squares >= FLOAT32_SQUARES_RANGE[0] && squares <= FLOAT32_SQUARES_RANGE[1];
}

/**
 * The first column whose float32 sum of squared deviations lies outside
 * {@linkcode FLOAT32_SQUARES_RANGE} although it varies (0 is fine for an
 * exactly constant column): its digits were lost to float32 overflow or
 * underflow. Call it after checking the batch for NaN and ±Infinity.
 *
 * @param batch The batch as given (float64 or float32), for the constant-column scan.
 * @param moments The moments the float32 computation returned.
 * @returns The column, or undefined when every column fits.
 */
export function findFloat32Misfit(
  batch: {
    readonly x: KernelArray;
    readonly n: KernelArray;
    readonly count: number;
    readonly features: number;
    readonly confounds: number;
  },
  moments: BatchMoments,
): Float32Misfit | undefined {
  const { count: B, features: F, confounds: M } = batch;
  for (let f = 0; f < F; f++) {
    const squares = moments.m2X[f]!;
    if (!fits(squares) && !(squares === 0 && isConstantColumn(batch.x, f, F, B))) {
      return { side: "features", index: f, squares };
    }
  }
  for (let m = 0; m < M; m++) {
    const squares = moments.m2N[m]!;
    if (!fits(squares) && !(squares === 0 && isConstantColumn(batch.n, m * B, 1, B))) {
      return { side: "confounds", index: m, squares };
    }
  }
  return undefined;
}
