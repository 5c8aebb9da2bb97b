/**
 * hypercoil's `batch_corr` and its alias `qcfc`.
 *
 * @module
 */

import { autoTolUnchecked } from "../core/auto_tol.ts";
import { ruleMessage } from "../core/errors.ts";
import { type BatchMoments, computeBatchMoments } from "../kernels/compute_batch_moments.ts";
import { batchCorrOptionsSchema, parseOptions } from "../core/parse_options.ts";
import {
  assertFiniteBatch,
  hasUnderflow,
  type PreparedBatch,
  prepareBatch,
  type RescaledBatch,
  rescaleBatch,
} from "../core/prepare_batch.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import { permuteRows } from "../core/tensor.ts";
import { countZeros, pearsonFromMoments, softThreshold, type ZeroVariancePolicy } from "../core/correlation_view.ts";

/** Options of {@linkcode batchCorr}. */
export interface BatchCorrOptions {
  /**
   * Tolerance: correlations with `|r| ≤ tol` count as 0, others shrink by
   * `tol`. `"auto"` uses {@linkcode autoTol} for the batch size and `tolSig`.
   * @default {0}
   */
  tol?: number | "auto";
  /**
   * Significance level for `tol: "auto"`, in (0, 1).
   * @default {0.1}
   */
  tolSig?: number;
  /**
   * Return `max(|r| − tol, 0)`; when false, keep the sign of `r`.
   * @default {true}
   */
  abs?: boolean;
  /**
   * How a correlation with a zero-variance feature or confound (0/0) is
   * reported: `"zero"` (no evidence of association) or `"nan"` (hypercoil).
   * @default {"zero"}
   */
  zeroVariance?: ZeroVariancePolicy;
  /**
   * The largest F·M (features × confounds) to allocate for; a larger batch is
   * refused with a `BatchCorrError` ("resource_limit") before any F·M buffer
   * exists. Each F·M float64 buffer takes 8·F·M bytes.
   * @default {134217728} (2²⁷, `DEFAULT_MAX_ELEMENTS`: 1 GiB per buffer)
   */
  maxElements?: number;
}

/** The result of {@linkcode batchCorr}: an `(F, M)` tensor and facts about it. */
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

/** Correlation options after validation, defaults applied. */
export interface ResolvedCorrelationOptions {
  /** A numeric tolerance or "auto". */
  tol: number | "auto";
  /** Significance level for "auto". */
  tolSig: number;
  /** Whether the sign is dropped. */
  abs: boolean;
  /** The zero-variance policy. */
  zeroVariance: ZeroVariancePolicy;
  /** The largest F·M allowed (the default when absent). */
  maxElements?: number;
}

/**
 * Resolves `tol` for a sample count, as hypercoil: `"auto"` becomes
 * {@linkcode autoTol} of the count.
 *
 * @param tol A number or "auto".
 * @param tolSig The significance level.
 * @param count The (effective) number of samples.
 * @param context What was being done.
 * @returns The numeric tolerance.
 * @throws {RangeError} If `tol` is "auto" and the count is below 3.
 */
export function resolveTol(tol: number | "auto", tolSig: number, count: number, context: string): number {
  if (tol !== "auto") return tol;
  if (!(count >= 3)) {
    throw new RangeError(
      ruleMessage(context, 'the batch size for tol "auto"', "at least 3 (B − 2 degrees of freedom for the t quantile)", count),
    );
  }
  return autoTolUnchecked(count, tolSig);
}

/** {@linkcode batchCorrPrepared}'s result: the public result and what gradients reuse. */
export interface PreparedCorrelation extends BatchCorrResult {
  /** The correlations before thresholding, in hypercoil's feature order. */
  raw: Float64Array;
  /** The moments the correlations came from: those of `kernel`. */
  moments: BatchMoments;
  /** The batch the moments describe: the input, or its rescaled copy when its squares left float64's range. */
  kernel: PreparedBatch | RescaledBatch;
}

/**
 * Computes batchCorr on an already prepared batch with resolved options.
 *
 * @param batch The validated batch.
 * @param options Resolved options.
 * @param context What was being done.
 * @param names Argument names for messages.
 * @returns The result in hypercoil's feature order, with the raw correlations
 * and the moments behind them.
 */
export function batchCorrPrepared(
  batch: PreparedBatch,
  options: ResolvedCorrelationOptions,
  context: string,
  names: readonly [string, string] = ["X", "N"],
): PreparedCorrelation {
  const tol = resolveTol(options.tol, options.tolSig, batch.count, context);
  let moments = computeBatchMoments(batch.x, batch.n, batch.count, batch.features, batch.confounds);
  let kernel: PreparedBatch | RescaledBatch = batch;
  if (assertFiniteBatch(batch, moments, context, names) === "overflow" || hasUnderflow(batch, moments)) {
    kernel = rescaleBatch(batch);
    moments = computeBatchMoments(kernel.x, kernel.n, kernel.count, kernel.features, kernel.confounds);
  }
  let raw = pearsonFromMoments(moments, options.zeroVariance);
  if (batch.order) raw = permuteRows(raw, batch.order, batch.confounds);
  return {
    data: softThreshold(raw, tol, options.abs),
    raw,
    moments,
    kernel,
    shape: [batch.features, batch.confounds],
    tol,
    zeroVarianceFeatures: countZeros(moments.m2X),
    zeroVarianceConfounds: countZeros(moments.m2N),
  };
}

/**
 * Correlation over the batch axis, as hypercoil's `batch_corr`: the Pearson
 * correlation across the B samples between every feature of `X` and every
 * confound of `N`, soft-thresholded at `tol`, computed in float64.
 *
 * Feature order is hypercoil's: X is flattened as `X.swapaxes(0, -1).reshape(-1, B)`,
 * so for `(B, C, T)` output row `t * C + c` is feature `X[:, c, t]`.
 *
 * @param X Features with the batch on the first axis: `(B, d1, …, dk)`, as
 * `{ data, shape }` (Float64Array, Float32Array or number[]) or nested arrays.
 * @param N Confounds: a vector `(B)` or a matrix `(M, B)`.
 * @param options Tolerance, significance, sign and zero-variance policy.
 * @returns The `(F, M)` thresholded correlations with the tolerance used and
 * counts of zero-variance features and confounds.
 * @throws {TypeError} If X or N is not a tensor, has non-numeric data, the
 * shapes disagree (including N given as `(B, M)`), or an option has a wrong type.
 * @throws {RangeError} If a value is NaN or ±Infinity, the batch is empty,
 * `tol` is negative, `tolSig` is outside (0, 1), or `tol` is "auto" with B < 3.
 * @throws {BatchCorrError} With code "resource_limit" if F·M exceeds `options.maxElements`.
 *
 * @example Correlating two features with one confound
 * ```ts
 * import { batchCorr } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const X = [[1, 4], [2, 3], [3, 2], [4, 1]]; // B = 4 samples, F = 2 features
 * const N = [1, 2, 3, 4];                     // one confound
 * const r = batchCorr(X, N, { abs: false });
 * assert.deepEqual(r.shape, [2, 1]);
 * assert.ok(Math.abs(r.data[0]! - 1) < 1e-12 && Math.abs(r.data[1]! + 1) < 1e-12);
 * ```
 */
export function batchCorr(X: TensorLike, N: TensorLike, options?: BatchCorrOptions): BatchCorrResult {
  const context = "compute batchCorr";
  const resolved = parseOptions(batchCorrOptionsSchema, options, context);
  const prepared = batchCorrPrepared(prepareBatch(X, N, context, ["X", "N"], resolved.maxElements), resolved, context);
  const { raw: _raw, moments: _moments, kernel: _kernel, ...result } = prepared;
  return result;
}

/**
 * Quality control–functional connectivity correlation: hypercoil's `qcfc`,
 * an alias of {@linkcode batchCorr} with the arguments named `(fc, qc)`.
 *
 * @param fc Functional connectivity (features), batch first.
 * @param qc Quality-control measures: `(B)` or `(M, B)`.
 * @param options As {@linkcode batchCorr}.
 * @returns As {@linkcode batchCorr}.
 * @throws {TypeError} As {@linkcode batchCorr}, naming `fc` and `qc`.
 * @throws {RangeError} As {@linkcode batchCorr}.
 * @throws {BatchCorrError} As {@linkcode batchCorr}.
 *
 * @example QC-FC of three connections with motion
 * ```ts
 * import { qcfc } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const fc = { data: new Float64Array([0.1, 0.5, 0.2, 0.3, 0.4, 0.1, 0.6, 0.2, 0.0]), shape: [3, 3] };
 * const motion = [0.1, 0.2, 0.4];
 * assert.deepEqual(qcfc(fc, motion).shape, [3, 1]);
 * ```
 */
export function qcfc(fc: TensorLike, qc: TensorLike, options?: BatchCorrOptions): BatchCorrResult {
  const context = "compute qcfc";
  const resolved = parseOptions(batchCorrOptionsSchema, options, context);
  const names = ["fc", "qc"] as const;
  const prepared = batchCorrPrepared(prepareBatch(fc, qc, context, names, resolved.maxElements), resolved, context, names);
  const { raw: _raw, moments: _moments, kernel: _kernel, ...result } = prepared;
  return result;
}
