/**
 * The batch kernel: centred first and second moments of one mini-batch, on
 * WebAssembly SIMD where the engine has it and in TypeScript elsewhere, bit
 * for bit the same either way.
 *
 * @module
 */

import { type BatchMoments, emptyMoments, type KernelArray } from "../core/batch_moments.ts";
import {
  confoundMoments,
  correctOffsetMeans,
  FLOAT32_EPSILON,
  typescriptFeatureMoments,
  zeroConstantColumns,
} from "./_typescript_kernel.ts";
import { shiftFeaturesToFloat32, unshiftMeans } from "../core/float32_shift.ts";
import { wasmFastFloat32Moments, wasmFeatureMoments, wasmKernelAvailable } from "./_wasm_kernel.ts";

/** Which implementation of the batch kernel runs. */
export type MomentsKernel = "wasm-simd" | "typescript";

/**
 * The kernel {@linkcode computeBatchMoments} uses in this runtime: WebAssembly
 * SIMD where the engine supports it, else the TypeScript loop. Both give
 * bit-for-bit the same moments.
 *
 * @returns The kernel's name.
 */
export function defaultMomentsKernel(): MomentsKernel {
  return wasmKernelAvailable() ? "wasm-simd" : "typescript";
}

/**
 * Computes the centred moments of one batch, two-pass: means first, then sums
 * of products of deviations from those means (never raw `Σx² − (Σx)²/n`, which
 * loses every digit for data like `1e9 + noise`).
 *
 * Exactly constant columns get a sum of squares of exactly 0, so callers can
 * recognise zero variance without a tolerance.
 *
 * The work over X runs in the WebAssembly SIMD kernel where available (see
 * {@linkcode defaultMomentsKernel}); it sums in the same order with the same
 * operations as the TypeScript loop, so the result does not depend on which ran.
 *
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B, the number of samples.
 * @param features F.
 * @param confounds M.
 * @param out Optional storage to fill (its `count` is overwritten).
 * @returns The moments.
 */
export function computeBatchMoments(
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments = emptyMoments(features, confounds),
): BatchMoments {
  return computeBatchMomentsWith(defaultMomentsKernel(), x, n, count, features, confounds, out);
}

/**
 * {@linkcode computeBatchMoments} with a chosen kernel (tests and benchmarks
 * compare them; "wasm-simd" falls back to TypeScript where unavailable).
 *
 * @param kernel The kernel to run.
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param out Optional storage to fill.
 * @returns The moments.
 */
export function computeBatchMomentsWith(
  kernel: MomentsKernel,
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments = emptyMoments(features, confounds),
): BatchMoments {
  const F = features, M = confounds, B = count;
  out.count = B;
  const centredN = confoundMoments(n, B, M, out);
  const done = kernel === "wasm-simd" &&
    wasmFeatureMoments(x, centredN, B, F, M, out.meanX, out.m2X, out.comoment);
  if (!done) typescriptFeatureMoments(x, centredN, B, F, M, out);
  correctOffsetMeans(x, centredN, B, F, M, out);
  zeroConstantColumns(x, n, B, F, M, out);
  return out;
}

/**
 * Columns whose mean lies more than this many spreads from zero are recomputed
 * shifted: float32 centring around such a mean leaves an error of up to
 * about 3e-7 of the mean, whose square would no longer be small next to the
 * variance (about 1e-9 relative here, 1e-2 at 1e6 spreads).
 */
const FLOAT32_OFFSET_RISK = 100;

/**
 * The fast float32 batch kernel: like {@linkcode computeBatchMoments}, but X
 * is centred and summed in float32 within chunks of 32 samples and in float64
 * across chunks, with twice the SIMD lanes of the exact kernel. The confounds
 * stay exact. Correlations agree with the exact kernel to about 1e-6;
 * constant columns are still detected exactly. Without WebAssembly SIMD it
 * runs the exact TypeScript kernel on the same float32 values.
 *
 * Data far from zero keep their digits (SPEC section 6): float64 input is
 * shifted by each column's first value, in float64, before it is rounded to
 * float32; float32 input is read as is, and recomputed shifted when a column's
 * mean lies more than 100 spreads from zero. The means get the shift added
 * back in float64.
 *
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param out Optional storage to fill.
 * @returns The moments.
 */
export function computeBatchMomentsFloat32(
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments = emptyMoments(features, confounds),
): BatchMoments {
  const F = features, M = confounds, B = count;
  out.count = B;
  const centredN = confoundMoments(n, B, M, out);
  if (x instanceof Float32Array) {
    fastFeatureMoments(x, n, centredN, B, F, M, out);
    if (!hasOffsetColumn(out, B)) return out;
  }
  const shifted = shiftFeaturesToFloat32(x, B, F);
  fastFeatureMoments(shifted.values, n, centredN, B, F, M, out);
  return unshiftMeans(out, shifted.reference, undefined);
}

function fastFeatureMoments(
  x32: Float32Array,
  n: KernelArray,
  centredN: Float64Array,
  B: number,
  F: number,
  M: number,
  out: BatchMoments,
): void {
  if (wasmFastFloat32Moments(x32, centredN, B, F, M, out.meanX, out.m2X, out.comoment)) {
    zeroConstantColumns(x32, n, B, F, M, out, FLOAT32_EPSILON);
  } else {
    typescriptFeatureMoments(x32, centredN, B, F, M, out);
    zeroConstantColumns(x32, n, B, F, M, out);
  }
}

/** Whether some feature's mean lies beyond {@linkcode FLOAT32_OFFSET_RISK} spreads from zero. */
function hasOffsetColumn(moments: BatchMoments, B: number): boolean {
  const { meanX, m2X } = moments;
  for (let f = 0; f < meanX.length; f++) {
    // A NaN mean (a NaN input, refused by the caller) compares false: no useless recomputation.
    if (Math.abs(meanX[f]!) > FLOAT32_OFFSET_RISK * Math.sqrt(m2X[f]! / B)) return true;
  }
  return false;
}
