/**
 * hypercoil's `batch_corr` as a differentiable TensorFlow.js op.
 *
 * @module
 */

import type { BatchCorrTfOptions, TfTensor, TfTensor2D } from "./tf_types.ts";
import { z } from "zod";
import { correlationOptionShape } from "../core/batch_corr_options.ts";
import { parseOptions } from "../core/parse_options.ts";
import { correlateTf, TF_OPTION_RULES, TF_OPTION_SHAPE } from "./_correlate_tf.ts";
import { tf } from "./_tfjs.ts";

/** The options of {@linkcode batchCorrTf}: the core's and `compute`. */
const batchCorrTfOptionsSchema = z.strictObject({ ...correlationOptionShape, ...TF_OPTION_SHAPE });

/**
 * hypercoil's `batch_corr` on TensorFlow.js tensors: the Pearson correlation
 * across the B samples between every feature of `x` and every confound of
 * `n`, soft-thresholded at `tol`, as a tf op on the active backend (cpu,
 * wasm, webgl, webgpu), **differentiable** with respect to `x` and `n`.
 *
 * The rules are {@linkcode batchCorr}'s: `x` has the batch on its first axis
 * and any rank; features come in hypercoil's order
 * (`X.swapaxes(0, -1).reshape(-1, B)`, so for `(B, C, T)` row `t·C + c` is
 * `x[:, c, t]`); `n` is `(B)` or `(M, B)`; a zero-variance feature or
 * confound gives 0 (`zeroVariance: "zero"`) or NaN (`"nan"`). The gradient is
 * the library's closed form (`tf.customGrad`), with no NaN for zero-variance
 * pairs: where `|r| ≤ tol` it is 0. With `zeroVariance: "nan"` and such a
 * pair, every element of the gradient is NaN, as the value.
 *
 * Precision: the backends compute in float32. Each column is shifted by its
 * first value before it is centred, so inputs far from zero (1e6 + noise) lose
 * no digits in the graph; the result agrees with the float64 `batchCorr` to
 * about 1e-6 of its largest value. Values are not read back (that would stall
 * a GPU): NaN or ±Infinity in `x` or `n` gives NaN rather than an error, and
 * a column whose deviations from its first value exceed about 1e18 or fall
 * below about 1e-18 leaves float32's range in its sum of squares (see
 * {@linkcode toTfBatch} to convert host data with those checks).
 *
 * @param x Features, batch first: `(B, d1, …, dk)`; float32, int32 or bool.
 * @param n Confounds: `(B)` or `(M, B)`.
 * @param options As {@linkcode batchCorr}: `tol` (number or "auto", default
 * 0), `tolSig` (0.1), `abs` (true), `zeroVariance` ("zero"), `maxElements`.
 * @returns The `(F, M)` thresholded correlations, float32, a new tensor the
 * caller disposes (or a `tf.tidy` does).
 * @throws {TypeError} If x or n is not a live numeric tf.Tensor, x is a
 * scalar, the shapes disagree (including n given as `(B, M)`), or an option
 * has a wrong type or is unknown.
 * @throws {RangeError} For an empty batch, a zero-size axis, a negative `tol`,
 * `tolSig` outside (0, 1), or `tol: "auto"` with B < 3.
 * @throws {BatchCorrError} With code "resource_limit" if F·M exceeds `options.maxElements`.
 *
 * @example Correlations of a feature matrix with one confound, and their gradient
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batchCorrTf } from "@streamcorr/batch-corr/tfjs";
 * import assert from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const x = tf.tensor2d([[1, 4], [2, 3], [3, 2], [4, 1]]); // B = 4, F = 2
 * const motion = tf.tensor1d([1, 2, 3, 4]);
 * const r = batchCorrTf(x, motion, { abs: false });
 * assert.deepEqual(r.shape, [2, 1]);
 * const [up, down] = r.dataSync();
 * assert.ok(Math.abs(up! - 1) < 1e-6 && Math.abs(down! + 1) < 1e-6);
 *
 * const grad = tf.grad((features: tf.Tensor) => batchCorrTf(features, motion).mean())(x);
 * assert.deepEqual(grad.shape, [4, 2]);
 * tf.dispose([x, motion, r, grad]);
 * ```
 */
export function batchCorrTf(x: TfTensor, n: TfTensor, options?: BatchCorrTfOptions): TfTensor2D {
  const context = "compute batchCorrTf";
  const settings = parseOptions(batchCorrTfOptionsSchema, options, context, TF_OPTION_RULES);
  return tf.tidy(() => correlateTf(x, n, settings, context, ["x", "n"]));
}
