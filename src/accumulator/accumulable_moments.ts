/**
 * The moments a running state accepts: a batch's own (from the kernel, with
 * constant columns pinned and low parts filled) or a backend's, after the
 * checks that a state which cannot rescale needs. The accumulator and the
 * streams share this one pipeline.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import { pinConstantMeans } from "../core/moment_algebra.ts";
import { findUnrepresentableColumn, UNDERFLOW_RISK } from "../core/numeric_range.ts";
import {
  emptyPreciseMoments,
  fillLowParts,
  ownLowPart,
  type PreciseMoments,
  withoutLowParts,
} from "../core/precise_means.ts";
import { assertFiniteBatch, type PreparedBatch } from "../core/prepare_batch.ts";
import { computeFlaggedMoments } from "../kernels/compute_batch_moments.ts";
import { computeFlaggedMomentsAsync } from "../kernels/compute_moments_parallel.ts";

declare const accepted: unique symbol;

/**
 * Moments that passed {@linkcode momentsOfBatch} or {@linkcode acceptMoments}:
 * only this module makes them, so `CorrelationAccumulator.stage` can merge
 * them without checking them again.
 */
export type AccumulableMoments = PreciseMoments & { readonly [accepted]: true };

/**
 * A batch's moments, ready to merge into a running state: the kernel's
 * moments, checked by {@linkcode assertAccumulable}, constant columns' means
 * pinned to the constant, and the means' low parts filled.
 *
 * @param batch The validated batch.
 * @param context What was being done, for messages.
 * @param names The argument names, for messages.
 * @param reuse Storage of the same F and M to fill, if any.
 * @returns The moments (`reuse` when it fits).
 * @throws {RangeError} See {@linkcode assertAccumulable}.
 */
export function momentsOfBatch(
  batch: PreparedBatch,
  context: string,
  names: readonly [string, string],
  reuse?: PreciseMoments,
): AccumulableMoments {
  const fits = reuse?.features === batch.features && reuse.confounds === batch.confounds &&
    ownLowPart(reuse, "meanXLo") && ownLowPart(reuse, "meanNLo");
  const out = fits
    ? reuse as Required<PreciseMoments>
    : emptyPreciseMoments(batch.features, batch.confounds);
  const { x, n, count, features, confounds } = batch;
  // Every per-feature check below acts only on the columns the kernel flagged.
  const flagged = computeFlaggedMoments(x, n, count, features, confounds, out);
  assertAccumulable(batch, out, context, names, flagged);
  return fillLowParts(pinConstantMeans(out, batch, flagged), batch, flagged) as AccumulableMoments;
}

/**
 * {@linkcode momentsOfBatch} with the kernel on up to `threads` threads for a
 * batch large enough to gain from them; the moments are bit for bit the same.
 *
 * @param batch The validated batch (must not change until the promise settles).
 * @param context What was being done, for messages.
 * @param names The argument names, for messages.
 * @param threads The most threads, the calling thread included.
 * @param reuse Storage of the same F and M to fill, if any.
 * @returns The moments (`reuse` when it fits).
 * @throws {RangeError} See {@linkcode assertAccumulable}.
 */
export async function momentsOfBatchAsync(
  batch: PreparedBatch,
  context: string,
  names: readonly [string, string],
  threads: number,
  reuse?: PreciseMoments,
): Promise<AccumulableMoments> {
  const fits = reuse?.features === batch.features && reuse.confounds === batch.confounds &&
    ownLowPart(reuse, "meanXLo") && ownLowPart(reuse, "meanNLo");
  const out = fits
    ? reuse as Required<PreciseMoments>
    : emptyPreciseMoments(batch.features, batch.confounds);
  const { x, n, count, features, confounds } = batch;
  const flagged = await computeFlaggedMomentsAsync(x, n, count, features, confounds, out, threads);
  assertAccumulable(batch, out, context, names, flagged);
  return fillLowParts(pinConstantMeans(out, batch, flagged), batch, flagged) as AccumulableMoments;
}

/**
 * Moments computed elsewhere (a backend) for a batch, ready to merge: checked
 * by {@linkcode assertAccumulable}, and taken as plain float64 means (low
 * parts are this library's own state).
 *
 * @param moments The batch's moments, of the batch's shape.
 * @param batch The batch.
 * @param context What was being done, for messages.
 * @param names The argument names, for messages.
 * @returns The moments, without low parts.
 * @throws {RangeError} See {@linkcode assertAccumulable}.
 */
export function acceptMoments(
  moments: BatchMoments,
  batch: PreparedBatch,
  context: string,
  names: readonly [string, string],
): AccumulableMoments {
  assertAccumulable(batch, moments, context, names);
  return withoutLowParts(moments) as AccumulableMoments;
}

/**
 * How a column outside a running state's range can be brought back: the
 * advice of every range message of the accumulator.
 */
export const RANGE_ADVICE =
  "a running state keeps one scale and cannot rescale as batchCorr does: keep each column's deviations between about 1e-124 and 1e153 in magnitude (correlations are scale-invariant, so rescaling the data changes nothing else)";

/**
 * Throws unless every element is finite and every column's sum of squared
 * deviations is usable by a running state (no overflow to Infinity, no
 * underflow of a varying column to 0 or subnormals, which would report it as
 * zero-variance and its correlations as 0 where batchCorr, which rescales,
 * finds the true value).
 *
 * @param batch The batch.
 * @param moments Its moments.
 * @param context What was being done.
 * @param names The argument names for messages.
 * @param flagged The features the kernel flagged, when it listed them: then
 * only those can fail the feature checks.
 * @throws {RangeError} Naming the argument, the column and the rule.
 */
export function assertAccumulable(
  batch: PreparedBatch,
  moments: BatchMoments,
  context: string,
  names: readonly [string, string],
  flagged?: Int32Array,
): void {
  const featuresUsable = flagged
    ? columnsUsableAt(moments.meanX, moments.m2X, flagged)
    : columnsUsable(moments.meanX, moments.m2X);
  if (featuresUsable && columnsUsable(moments.meanN, moments.m2N)) return;
  assertFiniteBatch(batch, moments, context, names);
  const column = findUnrepresentableColumn(batch, moments);
  if (!column) return;
  const what = column.side === "features"
    ? `feature column ${column.index} of ${names[0]}`
    : `confound ${column.index} of ${names[1]}`;
  const how = column.kind === "overflow"
    ? "overflows float64 range (its sum of squares is Infinity)"
    : "underflows (its sum of squares is below 1e-250 though it varies)";
  throw new RangeError(
    `Cannot ${context} as the squared deviations of every column must stay within float64 range: ${what} ${how}; ${RANGE_ADVICE}`,
  );
}

/**
 * Whether every mean is finite and every sum of squares is within
 * [`UNDERFLOW_RISK`, Infinity): then neither check of
 * {@linkcode assertAccumulable} can find anything, and one pass over the
 * moments replaces their two (constant columns, with a sum of squares of 0,
 * take the full checks).
 */
function columnsUsableAt(means: Float64Array, m2: Float64Array, columns: Int32Array): boolean {
  for (let i = 0; i < columns.length; i++) {
    const f = columns[i]!;
    const ss = m2[f]!, mean = means[f]!;
    if (!(ss >= UNDERFLOW_RISK) || (ss - ss) + (mean - mean) !== 0) return false;
  }
  return true;
}

function columnsUsable(means: Float64Array, m2: Float64Array): boolean {
  let poison = 0;
  for (let i = 0; i < m2.length; i++) {
    const ss = m2[i]!, mean = means[i]!;
    if (!(ss >= UNDERFLOW_RISK)) return false;
    poison += (ss - ss) + (mean - mean);
  }
  return poison === 0;
}
