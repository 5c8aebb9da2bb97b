/**
 * The fastest path: `batchCorr` on the fast float32 kernel.
 *
 * @module
 */

import { resolveTol } from "../core/auto_tol.ts";
import type { BatchMoments } from "../core/batch_moments.ts";
import {
  type BatchCorrOptions,
  batchCorrOptionsSchema,
  OPTION_RULES,
} from "../core/batch_corr_options.ts";
import { isConstantColumn } from "../core/constant_column.ts";
import type { BatchCorrResult } from "../core/correlation_view.ts";
import { hasUnderflow } from "../core/numeric_range.ts";
import { parseOptions } from "../core/parse_options.ts";
import { assertFiniteBatch, prepareBatch, type PreparedBatch } from "../core/prepare_batch.ts";
import type { TensorLike } from "../core/tensor.ts";
import { computeFlaggedMomentsFloat32 } from "../kernels/compute_batch_moments.ts";
import { resultView } from "../kernels/correlation_view_kernel.ts";
import { batchCorrResult, scratchMoments } from "./batch_corr_prepared.ts";

/**
 * `batchCorr` computed with float32 arithmetic where it is fastest:
 * X is centred and summed in float32 within chunks of 32 samples and in
 * float64 across chunks, with four SIMD lanes per instruction (WebAssembly
 * SIMD; the exact kernel runs where it is missing). The confounds, the
 * correlation and the threshold stay float64, and exactly constant features
 * are still reported as zero variance.
 *
 * Correlations agree with `batchCorr` to about 1e-6, far from zero too
 * (SPEC section 6: `1e6 + 0.01·noise` keeps its digits, because float64
 * input is shifted by each column's first value before it is rounded to
 * float32, and float32 input whose column means lie over 100 spreads from
 * zero is recomputed shifted); use `batchCorr` for parity with hypercoil in
 * float64. Input given as float64 is converted to float32 first, so pass a
 * Float32Array for speed.
 * Batches whose values leave float32's comfortable range (squares beyond
 * about 1e36 or below 1e-28) are computed on the exact float64 path instead.
 *
 * @param X Features with the batch on the first axis: `(B, d1, …, dk)`.
 * @param N Confounds: a vector `(B)` or a matrix `(M, B)`.
 * @param options As `batchCorr`.
 * @returns As `batchCorr`: the `(F, M)` thresholded correlations in
 * hypercoil's feature order, the tolerance used and zero-variance counts.
 * @throws {TypeError} As `batchCorr`: not a tensor, shapes that
 * disagree, or an option of the wrong type.
 * @throws {RangeError} As `batchCorr`: NaN or ±Infinity, an empty
 * batch, `tol` negative, `tolSig` outside (0, 1), or `tol: "auto"` with B < 3.
 * @throws {BatchCorrError} With code "resource_limit" if F·M exceeds `options.maxElements`.
 *
 * @example Float32 features at float32 speed
 * ```ts
 * import { batchCorr, batchCorrFloat32 } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const B = 64, F = 40;
 * const x = new Float32Array(B * F).map((_, i) => Math.sin(i * 0.37) + (i % F) * 0.01);
 * const motion = Array.from({ length: B }, (_, b) => Math.cos(b));
 * const fast = batchCorrFloat32({ data: x, shape: [B, F] }, motion, { abs: false });
 * const exact = batchCorr({ data: x, shape: [B, F] }, motion, { abs: false });
 * assert.deepEqual(fast.shape, [F, 1]);
 * for (let f = 0; f < F; f++) assert.ok(Math.abs(fast.data[f]! - exact.data[f]!) < 1e-5);
 * ```
 */
export function batchCorrFloat32(
  X: TensorLike,
  N: TensorLike,
  options?: BatchCorrOptions,
): BatchCorrResult {
  const context = "compute batchCorrFloat32";
  const resolved = parseOptions(batchCorrOptionsSchema, options, context, OPTION_RULES);
  const batch = prepareBatch(X, N, context, ["X", "N"], resolved.maxElements);
  const tol = resolveTol(resolved.tol, resolved.tolSig, batch.count, context);
  const moments = scratchMoments(batch.features, batch.confounds);
  const flagged = computeFlaggedMomentsFloat32(
    batch.x,
    batch.n,
    batch.count,
    batch.features,
    batch.confounds,
    moments,
  );
  const outcome = assertFiniteBatch(batch, moments, context, ["X", "N"], flagged);
  if (
    outcome === "overflow" || hasUnderflow(batch, moments, flagged) ||
    outsideFloat32Range(batch, moments)
  ) {
    return batchCorrResult(batch, resolved, context);
  }
  return resultView(moments, batch.order, {
    tol,
    abs: resolved.abs,
    zeroVariance: resolved.zeroVariance,
  });
}

/** float32 sums of squares below this have lost digits to float32 underflow. */
const FLOAT32_UNDERFLOW_RISK = 1e-28;

/**
 * Whether the fast kernel's float32 arithmetic may have overflowed (a
 * non-finite co-moment) or underflowed (a varying feature, in the input's own
 * precision, with a tiny sum of squares).
 */
function outsideFloat32Range(batch: PreparedBatch, moments: BatchMoments): boolean {
  const { count: B, features: F } = batch;
  for (let i = 0; i < moments.comoment.length; i++) {
    const c = moments.comoment[i]!;
    if (c - c !== 0) return true;
  }
  for (let f = 0; f < F; f++) {
    if (moments.m2X[f]! < FLOAT32_UNDERFLOW_RISK && !isConstantColumn(batch.x, f, F, B)) {
      return true;
    }
  }
  return false;
}
