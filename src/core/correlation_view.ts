/**
 * From moments to hypercoil's thresholded correlations.
 *
 * @module
 */

import type { BatchMoments } from "../kernels/compute_batch_moments.ts";

/** How a correlation with a zero-variance feature or confound is reported. */
export type ZeroVariancePolicy = "zero" | "nan";

/** Options of {@linkcode thresholdCorrelations}. */
export interface ThresholdOptions {
  /** The tolerance subtracted from `|r|` (already resolved from `"auto"`). */
  tol: number;
  /** Return `max(|r| − tol, 0)` (true) or `sign(r)·max(|r| − tol, 0)` (false). */
  abs: boolean;
  /** Zero-variance policy: 0 (this library) or NaN (hypercoil). */
  zeroVariance: ZeroVariancePolicy;
}

/** Correlations computed from moments, in natural feature order. */
export interface CorrelationValues {
  /** Pearson correlations, row-major `(F, M)`. */
  raw: Float64Array;
  /** Thresholded correlations, row-major `(F, M)`. */
  thresholded: Float64Array;
  /** Features whose variance is zero. */
  zeroVarianceFeatures: number;
  /** Confounds whose variance is zero. */
  zeroVarianceConfounds: number;
}

/**
 * Pearson correlations `r = C / (sqrt(M2x) · sqrt(M2n))` from centred moments.
 * A pair with a zero-variance side is 0/0: reported per `zeroVariance`.
 *
 * @param moments The moments (only `m2X`, `m2N`, `comoment` are read).
 * @param zeroVariance The policy for 0/0.
 * @param out Optional storage of length F·M.
 * @returns The correlations, row-major `(F, M)`.
 */
export function pearsonFromMoments(
  moments: Pick<BatchMoments, "m2X" | "m2N" | "comoment" | "features" | "confounds">,
  zeroVariance: ZeroVariancePolicy,
  out: Float64Array = new Float64Array(moments.features * moments.confounds),
): Float64Array {
  const { m2X, m2N, comoment, features: F, confounds: M } = moments;
  const degenerate = zeroVariance === "nan" ? Number.NaN : 0;
  const sdN = new Float64Array(M);
  for (let m = 0; m < M; m++) sdN[m] = Math.sqrt(m2N[m]!);
  for (let f = 0; f < F; f++) {
    const sdX = Math.sqrt(m2X[f]!);
    const base = f * M;
    for (let m = 0; m < M; m++) {
      const denominator = sdX * sdN[m]!;
      out[base + m] = denominator === 0 ? degenerate : comoment[base + m]! / denominator;
    }
  }
  return out;
}

/**
 * hypercoil's soft threshold: `max(|r| − tol, 0)`, signed when `abs` is false.
 *
 * @param raw Correlations.
 * @param tol Tolerance.
 * @param abs Whether to drop the sign.
 * @param out Optional storage (may be `raw` itself).
 * @returns The thresholded values.
 */
export function softThreshold(
  raw: Float64Array,
  tol: number,
  abs: boolean,
  out: Float64Array = new Float64Array(raw.length),
): Float64Array {
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i]!;
    const shrunk = Math.max(Math.abs(r) - tol, 0);
    // Math.max(NaN, 0) is NaN, as jnp.maximum: NaN passes through.
    out[i] = abs ? shrunk : Math.sign(r) * shrunk;
  }
  return out;
}

/** Counts the zero entries of a sum-of-squares vector. */
export function countZeros(values: Float64Array): number {
  let zeros = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) zeros++;
  return zeros;
}

/**
 * Correlations and their thresholded values from moments.
 *
 * @param moments The moments.
 * @param options Threshold options.
 * @returns Raw and thresholded correlations and zero-variance counts.
 */
export function thresholdCorrelations(moments: BatchMoments, options: ThresholdOptions): CorrelationValues {
  const raw = pearsonFromMoments(moments, options.zeroVariance);
  return {
    raw,
    thresholded: softThreshold(raw, options.tol, options.abs),
    zeroVarianceFeatures: countZeros(moments.m2X),
    zeroVarianceConfounds: countZeros(moments.m2N),
  };
}
