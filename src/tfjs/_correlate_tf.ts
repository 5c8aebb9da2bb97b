/**
 * The path shared by `batchCorrTf` and `BatchCorrelationLossTf`: checks,
 * tolerance, the differentiable correlation op, and hypercoil's feature order.
 *
 * @module
 */

import type { Tensor2D } from "@tensorflow/tfjs";
import { z } from "zod";
import { resolveTol } from "../core/auto_tol.ts";
import { OPTION_RULES } from "../core/batch_corr_options.ts";
import { checkTfBatch } from "./_check_inputs.ts";
import { correlationOp } from "./_correlation_op.ts";
import { computesOnHost, hostCorrelationOp, type TfCompute } from "./_host_correlation_op.ts";
import { tf } from "./_tfjs.ts";

/** The options the tfjs entry point adds to the core's, for its zod schemas. */
export const TF_OPTION_SHAPE = {
  compute: z.enum(["auto", "host", "tf"]).default("auto"),
};

/** The rule of each option, for messages: the core's and the tfjs entry point's. */
export const TF_OPTION_RULES: Readonly<Record<string, string>> = {
  ...OPTION_RULES,
  compute: '"auto", "host" or "tf"',
};

/** Correlation options after validation, defaults applied. */
export interface TfCorrelationSettings {
  /** A numeric tolerance or "auto". */
  tol: number | "auto";
  /** Significance level for "auto". */
  tolSig: number;
  /** Whether the sign is dropped. */
  abs: boolean;
  /** The zero-variance policy. */
  zeroVariance: "zero" | "nan";
  /** The largest F·M allowed. */
  maxElements: number;
  /** Where the op runs. */
  compute: TfCompute;
}

/**
 * The numeric tolerance: the core's `resolveTol`, so "auto" is `autoTol(B, tolSig)`
 * by the same path (tiny significance levels included).
 *
 * @throws {RangeError} For "auto" with B < 3.
 */
export function resolveTolTf(
  tol: number | "auto",
  tolSig: number,
  count: number,
  context: string,
): number {
  return resolveTol(tol, tolSig, count, context);
}

/**
 * Rows of an `(F, M)` result in x's natural column order put into hypercoil's
 * order, `X.swapaxes(0, -1).reshape(-1, B)`: the last axis slowest, then the
 * middle axes in order. Natural column `j·last + k` becomes row `k·inner + j`,
 * which is a transpose of the `(inner, last, M)` view: differentiable on
 * every backend (a gather's gradient needs UnsortedSegmentSum, which the wasm
 * backend lacks).
 */
function toHypercoilOrder(values: Tensor2D, featureShape: readonly number[]): Tensor2D {
  if (featureShape.length <= 1) return values;
  const [features, confounds] = values.shape;
  const last = featureShape[featureShape.length - 1]!;
  const inner = features / last;
  return values.reshape([inner, last, confounds]).transpose([1, 0, 2]).reshape([
    features,
    confounds,
  ]);
}

/**
 * Thresholded batch correlations of tf tensors, differentiable. Call inside `tf.tidy`.
 *
 * @param x Features, batch first, any rank ≥ 1.
 * @param n Confounds, `(B)` or `(M, B)`.
 * @param settings Validated options.
 * @param context What was being done, for messages.
 * @param names Argument names, for messages.
 * @returns `(F, M)` in hypercoil's feature order.
 * @throws {TypeError} See `checkTfBatch`.
 * @throws {RangeError} See `checkTfBatch`; or `tol` "auto" with B < 3.
 * @throws {BatchCorrError} "resource_limit" if F·M exceeds `settings.maxElements`.
 */
export function correlateTf(
  x: unknown,
  n: unknown,
  settings: TfCorrelationSettings,
  context: string,
  names: readonly [string, string],
): Tensor2D {
  const batch = checkTfBatch(x, n, context, names, settings.maxElements);
  const tol = resolveTolTf(settings.tol, settings.tolSig, batch.count, context);
  const op = { tol, abs: settings.abs, zeroVariance: settings.zeroVariance };
  const onHost = computesOnHost(settings.compute, batch.count * batch.features)
    ? hostCorrelationOp(batch.x, batch.n, op)
    : undefined;
  return toHypercoilOrder(onHost ?? correlationOp(batch.x, batch.n, op), batch.featureShape);
}

/**
 * The checks of {@linkcode correlateTf} alone, computing nothing.
 *
 * @throws {TypeError} As {@linkcode correlateTf}.
 * @throws {RangeError} As {@linkcode correlateTf}.
 * @throws {BatchCorrError} As {@linkcode correlateTf}.
 */
export function checkTfArguments(
  x: unknown,
  n: unknown,
  settings: TfCorrelationSettings,
  context: string,
  names: readonly [string, string],
): void {
  tf.tidy(() => {
    const batch = checkTfBatch(x, n, context, names, settings.maxElements);
    resolveTolTf(settings.tol, settings.tolSig, batch.count, context);
  });
}
