/**
 * The one correlation view every path uses: moments → Pearson r →
 * hypercoil's feature order → soft threshold → zero-variance counts.
 *
 * @module
 */

import type { BatchMoments } from "./batch_moments.ts";
import type { Tensor } from "./tensor.ts";

/** How a correlation with a zero-variance feature or confound is reported. */
export type ZeroVariancePolicy = "zero" | "nan";

/** The result of `batchCorr`: an `(F, M)` tensor and facts about it. */
export interface BatchCorrResult extends Tensor {
  /** `[F, M]`. */
  shape: [number, number];
  /** The tolerance applied (resolved when `tol` was `"auto"`). */
  tol: number;
  /** How many features had zero variance in the batch. */
  zeroVarianceFeatures: number;
  /** How many confounds had zero variance in the batch. */
  zeroVarianceConfounds: number;
}

/** What the view needs besides the moments: the threshold and the 0/0 policy. */
export interface ViewSettings {
  /** The resolved tolerance. */
  tol: number;
  /** Whether to drop the sign. */
  abs: boolean;
  /** The 0/0 policy. */
  zeroVariance: ZeroVariancePolicy;
}

/**
 * Correlations from moments in hypercoil's feature order, thresholded, in one
 * pass over F·M that reads each row from its natural position: the
 * operations of {@linkcode pearsonFromMoments}, the permutation, then
 * {@linkcode softThreshold}, element by element, so the numbers are the same;
 * fused because on every batch of a stream these passes are the cost beyond
 * the kernel.
 *
 * @param moments The moments, features in natural order.
 * @param order The feature permutation (`featureOrder`), or undefined.
 * @param tol The resolved tolerance.
 * @param abs Whether to drop the sign.
 * @param zeroVariance The 0/0 policy.
 * @param out Storage of length F·M for the thresholded values.
 * @param raw Optional storage of length F·M for r itself, in the same order.
 * @returns `out`.
 */
export function thresholdedFromMoments(
  moments: BatchMoments,
  order: Int32Array | undefined,
  tol: number,
  abs: boolean,
  zeroVariance: ZeroVariancePolicy,
  out: Float64Array,
  raw?: Float64Array,
): Float64Array {
  const { m2X, m2N, comoment, features: F, confounds: M } = moments;
  const degenerate = zeroVariance === "nan" ? Number.NaN : 0;
  if (M === 1 && !order && !raw) {
    return thresholdedSingleConfound(
      m2X,
      Math.sqrt(m2N[0]!),
      comoment,
      F,
      tol,
      abs,
      degenerate,
      out,
    );
  }
  const sdN = new Float64Array(M);
  for (let m = 0; m < M; m++) sdN[m] = Math.sqrt(m2N[m]!);
  for (let f = 0; f < F; f++) {
    const source = order ? order[f]! : f;
    const sdX = Math.sqrt(m2X[source]!);
    const from = source * M, to = f * M;
    for (let m = 0; m < M; m++) {
      const denominator = sdX * sdN[m]!;
      const r = denominator === 0 ? degenerate : comoment[from + m]! / denominator;
      if (raw) raw[to + m] = r;
      // Math.max(NaN, 0) is NaN, as jnp.maximum: NaN passes through.
      const shrunk = Math.max(Math.abs(r) - tol, 0);
      out[to + m] = abs ? shrunk : Math.sign(r) * shrunk;
    }
  }
  return out;
}

/** {@linkcode thresholdedFromMoments} for one confound in natural order, the common streaming case. */
function thresholdedSingleConfound(
  m2X: Float64Array,
  sdN: number,
  comoment: Float64Array,
  F: number,
  tol: number,
  abs: boolean,
  degenerate: number,
  out: Float64Array,
): Float64Array {
  for (let f = 0; f < F; f++) {
    const denominator = Math.sqrt(m2X[f]!) * sdN;
    const r = denominator === 0 ? degenerate : comoment[f]! / denominator;
    const shrunk = Math.max(Math.abs(r) - tol, 0);
    out[f] = abs ? shrunk : Math.sign(r) * shrunk;
  }
  return out;
}

/**
 * The view as a {@linkcode BatchCorrResult} (one new array of F·M), with the
 * zero-variance counts of the moments.
 *
 * @param moments The moments, features in natural order.
 * @param order The feature permutation, or undefined.
 * @param settings The tolerance, sign and 0/0 policy.
 * @param raw Optional storage of length F·M that receives r, in hypercoil's order.
 * @returns The result.
 */
export function resultFromMoments(
  moments: BatchMoments,
  order: Int32Array | undefined,
  settings: ViewSettings,
  raw?: Float64Array,
): BatchCorrResult {
  const { tol, abs, zeroVariance } = settings;
  const data = new Float64Array(moments.features * moments.confounds);
  return {
    data: thresholdedFromMoments(moments, order, tol, abs, zeroVariance, data, raw),
    shape: [moments.features, moments.confounds],
    tol,
    ...zeroVarianceCounts(moments),
  };
}

/**
 * How many features and confounds have zero variance (a sum of squares of
 * exactly 0, as the kernels report an exactly constant column).
 *
 * @param moments The moments.
 * @returns The two counts.
 */
export function zeroVarianceCounts(
  moments: Pick<BatchMoments, "m2X" | "m2N">,
): { zeroVarianceFeatures: number; zeroVarianceConfounds: number } {
  return {
    zeroVarianceFeatures: countZeros(moments.m2X),
    zeroVarianceConfounds: countZeros(moments.m2N),
  };
}

function countZeros(values: Float64Array): number {
  let zeros = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) zeros++;
  return zeros;
}

/**
 * Pearson correlations `r = C / (sqrt(M2x) · sqrt(M2n))` from centred
 * moments, natural order: the definition that
 * {@linkcode thresholdedFromMoments} fuses with the order and the threshold
 * (the tests hold the fused pass to it). A pair with a zero-variance side is
 * 0/0: reported per `zeroVariance`.
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
 * hypercoil's soft threshold: `max(|r| − tol, 0)`, signed when `abs` is false
 * (the definition {@linkcode thresholdedFromMoments} fuses).
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
    out[i] = abs ? shrunk : Math.sign(r) * shrunk;
  }
  return out;
}
