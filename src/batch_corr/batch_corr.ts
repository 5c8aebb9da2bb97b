/**
 * hypercoil's `batch_corr`.
 *
 * @module
 */

import {
  type BatchCorrOptions,
  batchCorrOptionsSchema,
  OPTION_RULES,
} from "../core/batch_corr_options.ts";
import type { BatchCorrResult } from "../core/correlation_view.ts";
import { parseOptions } from "../core/parse_options.ts";
import { prepareBatch } from "../core/prepare_batch.ts";
import type { TensorLike } from "../core/tensor.ts";
import { batchCorrResult } from "./batch_corr_prepared.ts";

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
export function batchCorr(
  X: TensorLike,
  N: TensorLike,
  options?: BatchCorrOptions,
): BatchCorrResult {
  return correlateNamed(X, N, options, "compute batchCorr", ["X", "N"]);
}

/**
 * {@linkcode batchCorr} with the context and argument names of its messages.
 *
 * @param X Features, batch first.
 * @param N Confounds.
 * @param options As {@linkcode batchCorr}.
 * @param context What is being done, for messages.
 * @param names The argument names, for messages.
 * @returns As {@linkcode batchCorr}.
 * @throws {TypeError} As {@linkcode batchCorr}.
 * @throws {RangeError} As {@linkcode batchCorr}.
 * @throws {BatchCorrError} As {@linkcode batchCorr}.
 */
export function correlateNamed(
  X: TensorLike,
  N: TensorLike,
  options: BatchCorrOptions | undefined,
  context: string,
  names: readonly [string, string],
): BatchCorrResult {
  const resolved = parseOptions(batchCorrOptionsSchema, options, context, OPTION_RULES);
  const batch = prepareBatch(X, N, context, names, resolved.maxElements);
  return batchCorrResult(batch, resolved, context, names);
}
