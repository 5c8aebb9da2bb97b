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
  unusualFeatures,
  zeroConstantColumns,
} from "./_typescript_kernel.ts";
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
  computeFlaggedMomentsWith(kernel, x, n, count, features, confounds, out);
  return out;
}

/**
 * {@linkcode computeBatchMoments} that also returns the features the checks
 * after the kernel must look at: those whose sum of squares is below 1e-250
 * (zero included) or NaN, whose mean or sum of squares is not finite, whose
 * mean is more than 1e4 spreads from zero, or whose sum of squares is within
 * a constant column's rounding residue. Every per-feature check after the
 * kernel (finiteness, underflow, constant means, the means' low parts) acts
 * only on such columns, so it can visit the list instead of all F.
 *
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param out Storage to fill (its `count` is overwritten).
 * @returns The flagged features, ascending (usually none).
 */
export function computeFlaggedMoments(
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments,
): Int32Array {
  return computeFlaggedMomentsWith(defaultMomentsKernel(), x, n, count, features, confounds, out);
}

/**
 * {@linkcode computeFlaggedMoments} with a chosen kernel.
 *
 * @param kernel The kernel to run.
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param out Storage to fill.
 * @returns The flagged features.
 */
export function computeFlaggedMomentsWith(
  kernel: MomentsKernel,
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments,
): Int32Array {
  const F = features, M = confounds, B = count;
  out.count = B;
  const centredN = confoundMoments(n, B, M, out);
  let flagged = kernel === "wasm-simd"
    ? wasmFeatureMoments(x, centredN, B, F, M, out.meanX, out.m2X, out.comoment)
    : null;
  if (flagged === null) {
    typescriptFeatureMoments(x, centredN, B, F, M, out);
    flagged = unusualFeatures(out.meanX, out.m2X, B);
  }
  correctOffsetMeans(x, centredN, B, F, M, out, flagged);
  zeroConstantColumns(x, n, B, F, M, out, flagged);
  return flagged;
}

/**
 * The fast float32 batch kernel: like {@linkcode computeBatchMoments}, but X
 * (converted to float32 if given as float64) is centred and summed in float32
 * within chunks of 32 samples and in float64 across chunks, with twice the
 * SIMD lanes of the exact kernel. The confounds stay exact. Correlations agree
 * with the exact kernel to about 1e-6; constant columns are still detected
 * exactly. Without WebAssembly SIMD it runs the exact TypeScript kernel.
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
  computeFlaggedMomentsFloat32(x, n, count, features, confounds, out);
  return out;
}

/**
 * {@linkcode computeBatchMomentsFloat32} that also returns the flagged
 * features (see {@linkcode computeFlaggedMoments}; the constant-column
 * residue taken at float32's unit roundoff).
 *
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param out Storage to fill.
 * @returns The flagged features, ascending.
 */
export function computeFlaggedMomentsFloat32(
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments,
): Int32Array {
  const F = features, M = confounds, B = count;
  out.count = B;
  const x32 = x instanceof Float32Array ? x : new Float32Array(x);
  const centredN = confoundMoments(n, B, M, out);
  let flagged = wasmFastFloat32Moments(
    x32,
    centredN,
    B,
    F,
    M,
    out.meanX,
    out.m2X,
    out.comoment,
    FLOAT32_EPSILON,
  );
  if (flagged !== null) {
    zeroConstantColumns(x32, n, B, F, M, out, flagged, FLOAT32_EPSILON);
  } else {
    typescriptFeatureMoments(x32, centredN, B, F, M, out);
    flagged = unusualFeatures(out.meanX, out.m2X, B);
    zeroConstantColumns(x32, n, B, F, M, out, flagged);
  }
  return flagged;
}
