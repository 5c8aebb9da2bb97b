/**
 * `batchCorr` on a validated batch: the kernel, the rescaling of batches whose
 * squares leave float64's range, and the correlation view. The losses and
 * gradients reuse its moments and raw correlations.
 *
 * @module
 */

import { resolveTol } from "../core/auto_tol.ts";
import { type BatchMoments, emptyMoments } from "../core/batch_moments.ts";
import type { ResolvedCorrelationOptions } from "../core/batch_corr_options.ts";
import { type BatchCorrResult, resultFromMoments } from "../core/correlation_view.ts";
import { hasUnderflow } from "../core/numeric_range.ts";
import { assertFiniteBatch, type PreparedBatch } from "../core/prepare_batch.ts";
import { rescaleBatch, type RescaledBatch } from "../core/rescale_batch.ts";
import { computeFlaggedMoments } from "../kernels/compute_batch_moments.ts";
import { resultView } from "../kernels/correlation_view_kernel.ts";
import {
  computeFlaggedMomentsAsync,
  splitsAcrossThreads,
} from "../kernels/compute_moments_parallel.ts";

/** {@linkcode batchCorrPrepared}'s result: the public result and what gradients reuse. */
export interface PreparedCorrelation {
  /** What `batchCorr` returns. */
  result: BatchCorrResult;
  /** The correlations before thresholding, in hypercoil's feature order. */
  raw: Float64Array;
  /** The moments the correlations came from: those of `kernel`. */
  moments: BatchMoments;
  /** The batch the moments describe: the input, or its rescaled copy when its squares left float64's range. */
  kernel: PreparedBatch | RescaledBatch;
}

/**
 * The moments of a batch, of its rescaled copy when its squares leave
 * float64's range, with the finiteness check on the way.
 */
function checkedMoments(
  batch: PreparedBatch,
  context: string,
  names: readonly [string, string],
  out: BatchMoments,
): { moments: BatchMoments; kernel: PreparedBatch | RescaledBatch } {
  const { x, n, count, features, confounds } = batch;
  const flagged = computeFlaggedMoments(x, n, count, features, confounds, out);
  return checkedOutcome(batch, context, names, out, flagged);
}

/** The finiteness and range checks on a batch's moments, and the rescaled moments when needed. */
function checkedOutcome(
  batch: PreparedBatch,
  context: string,
  names: readonly [string, string],
  out: BatchMoments,
  flagged: Int32Array,
): { moments: BatchMoments; kernel: PreparedBatch | RescaledBatch } {
  const { features, confounds } = batch;
  const outcome = assertFiniteBatch(batch, out, context, names, flagged);
  if (outcome === "finite" && !hasUnderflow(batch, out, flagged)) {
    return { moments: out, kernel: batch };
  }
  const kernel = rescaleBatch(batch);
  const moments = emptyMoments(features, confounds);
  computeFlaggedMoments(kernel.x, kernel.n, kernel.count, features, confounds, moments);
  return { moments, kernel };
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
 * @throws {RangeError} If the batch holds NaN or ±Infinity, or `tol` is "auto" with B < 3.
 */
export function batchCorrPrepared(
  batch: PreparedBatch,
  options: ResolvedCorrelationOptions,
  context: string,
  names: readonly [string, string] = ["X", "N"],
): PreparedCorrelation {
  const tol = resolveTol(options.tol, options.tolSig, batch.count, context);
  const out = emptyMoments(batch.features, batch.confounds);
  const { moments, kernel } = checkedMoments(batch, context, names, out);
  const raw = new Float64Array(batch.features * batch.confounds);
  const settings = { tol, abs: options.abs, zeroVariance: options.zeroVariance };
  const result = resultFromMoments(moments, batch.order, settings, raw);
  return { result, raw, moments, kernel };
}

/** Moments storage reused by {@linkcode batchCorrResult} up to this many F·M elements. */
const SCRATCH_ELEMENTS = 2 ** 20;
let scratch: BatchMoments | undefined;

/**
 * Storage for one batch's moments that no caller keeps: reused from call to
 * call for batches up to {@linkcode SCRATCH_ELEMENTS} F·M, since fresh
 * buffers cost a page fault per 4 KiB on first touch, more than the kernel
 * itself on small batches. Valid until the next call; only for callers that
 * run no user code while they hold it.
 *
 * @param features F.
 * @param confounds M.
 * @returns The storage.
 */
export function scratchMoments(features: number, confounds: number): BatchMoments {
  if (scratch?.features === features && scratch.confounds === confounds) return scratch;
  const moments = emptyMoments(features, confounds);
  if (features * confounds <= SCRATCH_ELEMENTS) scratch = moments;
  return moments;
}

/**
 * {@linkcode batchCorrPrepared}'s result only: the moments go into reused
 * storage, and the raw correlations are not kept.
 *
 * @param batch The validated batch.
 * @param options Resolved options.
 * @param context What was being done.
 * @param names Argument names for messages.
 * @returns The result in hypercoil's feature order.
 * @throws {RangeError} If the batch holds NaN or ±Infinity, or `tol` is "auto" with B < 3.
 */
export function batchCorrResult(
  batch: PreparedBatch,
  options: ResolvedCorrelationOptions,
  context: string,
  names: readonly [string, string] = ["X", "N"],
): BatchCorrResult {
  const tol = resolveTol(options.tol, options.tolSig, batch.count, context);
  const out = scratchMoments(batch.features, batch.confounds);
  const { moments } = checkedMoments(batch, context, names, out);
  const settings = { tol, abs: options.abs, zeroVariance: options.zeroVariance };
  return resultView(moments, batch.order, settings);
}

/**
 * {@linkcode batchCorrResult} with the kernel on up to `threads` threads for
 * a batch large enough to gain from them (see `computeFlaggedMomentsAsync`);
 * the result is bit for bit that of one thread.
 *
 * @param batch The validated batch (must not change until the promise settles).
 * @param options Resolved options.
 * @param threads The most threads to use, the calling thread included.
 * @param context What was being done.
 * @param names Argument names for messages.
 * @returns The result in hypercoil's feature order.
 * @throws {RangeError} If the batch holds NaN or ±Infinity, or `tol` is "auto" with B < 3.
 */
export async function batchCorrResultAsync(
  batch: PreparedBatch,
  options: ResolvedCorrelationOptions,
  threads: number,
  context: string,
  names: readonly [string, string] = ["X", "N"],
): Promise<BatchCorrResult> {
  const { x, n, count, features, confounds } = batch;
  if (!splitsAcrossThreads(count, features, confounds, threads)) {
    return batchCorrResult(batch, options, context, names);
  }
  const tol = resolveTol(options.tol, options.tolSig, count, context);
  // Fresh storage: another call may run while this one waits for the threads.
  const out = emptyMoments(features, confounds);
  const flagged = await computeFlaggedMomentsAsync(x, n, count, features, confounds, out, threads);
  const { moments } = checkedOutcome(batch, context, names, out, flagged);
  const settings = { tol, abs: options.abs, zeroVariance: options.zeroVariance };
  return resultView(moments, batch.order, settings);
}
