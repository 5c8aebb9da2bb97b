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
import { shiftFeaturesToFloat32, unshiftMeans } from "../core/float32_shift.ts";
import { wasmFastFloat32Moments, wasmFeatureMoments, wasmKernelAvailable } from "./_wasm_kernel.ts";

/** Which implementation of the batch kernel runs. */
export type MomentsKernel = "wasm-simd" | "typescript";

/**
 * The kernel that computed a batch's moments: the exact kernels of
 * {@linkcode MomentsKernel}, or `"wasm-simd-float32"`, the fast float32 kernel
 * of `batchCorrFloat32`.
 */
export type MomentsKernelRun = MomentsKernel | "wasm-simd-float32";

let lastRun: MomentsKernelRun | undefined;

/**
 * The kernel {@linkcode computeBatchMoments} uses in this runtime: WebAssembly
 * SIMD where the engine supports it, else the TypeScript loop. Both give
 * bit-for-bit the same moments.
 *
 * @returns The kernel's name.
 *
 * @example Asking which kernel this runtime uses
 * ```ts
 * import { defaultMomentsKernel } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.ok(["wasm-simd", "typescript"].includes(defaultMomentsKernel()));
 * ```
 */
export function defaultMomentsKernel(): MomentsKernel {
  return wasmKernelAvailable() ? "wasm-simd" : "typescript";
}

/**
 * The kernel that computed the most recent batch moments in this thread
 * (`batchCorr`, the losses, the accumulator and the streams all go through
 * it): `"wasm-simd"` normally, `"typescript"` where WebAssembly SIMD is missing
 * or a batch does not fit in 32-bit WebAssembly memory, `"wasm-simd-float32"`
 * after `batchCorrFloat32` on the fast kernel. A thread computes one batch at
 * a time, so read it right after the call it should describe.
 *
 * @returns The kernel's name, or undefined before the first batch.
 *
 * @example Seeing which kernel ran
 * ```ts
 * import { batchCorr, defaultMomentsKernel, lastMomentsKernel } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * batchCorr([[1], [2], [4]], [1, 3, 2]);
 * assert.equal(lastMomentsKernel(), defaultMomentsKernel());
 * ```
 */
export function lastMomentsKernel(): MomentsKernelRun | undefined {
  return lastRun;
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
  lastRun = flagged === null ? "typescript" : "wasm-simd";
  if (flagged === null) {
    typescriptFeatureMoments(x, centredN, B, F, M, out);
    flagged = unusualFeatures(out.meanX, out.m2X, B);
  }
  correctOffsetMeans(x, centredN, B, F, M, out, flagged);
  zeroConstantColumns(x, n, B, F, M, out, flagged);
  return flagged;
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
 * constant columns are still detected exactly. Without WebAssembly SIMD, or
 * for a batch too large for its memory, it runs the exact TypeScript kernel on
 * the same float32 values.
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
  const centredN = confoundMoments(n, B, M, out);
  if (x instanceof Float32Array) {
    const flagged = fastFeatureMoments(x, n, centredN, B, F, M, out);
    if (!hasOffsetColumn(out, B)) return flagged;
  }
  const shifted = shiftFeaturesToFloat32(x, B, F);
  const flagged = fastFeatureMoments(shifted.values, n, centredN, B, F, M, out);
  unshiftMeans(out, shifted.reference, undefined);
  // Flags were taken on the shifted columns; a mean far from zero is flagged on the data's own.
  return unionOfFlags(flagged, unusualFeatures(out.meanX, out.m2X, B, FLOAT32_EPSILON));
}

/** The kernel on float32 features; returns the flagged features. */
function fastFeatureMoments(
  x32: Float32Array,
  n: KernelArray,
  centredN: Float64Array,
  B: number,
  F: number,
  M: number,
  out: BatchMoments,
): Int32Array {
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
    lastRun = "wasm-simd-float32";
  } else {
    // The exact TypeScript kernel on the float32 values, as documented: its offset correction too.
    typescriptFeatureMoments(x32, centredN, B, F, M, out);
    lastRun = "typescript";
    flagged = unusualFeatures(out.meanX, out.m2X, B);
    correctOffsetMeans(x32, centredN, B, F, M, out, flagged);
    zeroConstantColumns(x32, n, B, F, M, out, flagged);
  }
  return flagged;
}

/** The ascending union of two ascending index lists. */
function unionOfFlags(a: Int32Array, b: Int32Array): Int32Array {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return Int32Array.from(new Set([...a, ...b])).sort();
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
