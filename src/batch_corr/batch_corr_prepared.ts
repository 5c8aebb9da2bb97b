/**
 * `batchCorr` on a validated batch: the kernel, the rescaling of batches whose
 * squares leave float64's range, and the correlation view. The losses and
 * gradients reuse its moments and raw correlations.
 *
 * @module
 */

import { resolveTol } from "../core/auto_tol.ts";
import type { BatchMoments } from "../core/batch_moments.ts";
import type { ResolvedCorrelationOptions } from "../core/batch_corr_options.ts";
import { type BatchCorrResult, resultFromMoments } from "../core/correlation_view.ts";
import { hasUnderflow } from "../core/numeric_range.ts";
import { assertFiniteBatch, type PreparedBatch } from "../core/prepare_batch.ts";
import { rescaleBatch, type RescaledBatch } from "../core/rescale_batch.ts";
import { computeBatchMoments } from "../kernels/compute_batch_moments.ts";

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
  let moments = computeBatchMoments(batch.x, batch.n, batch.count, batch.features, batch.confounds);
  let kernel: PreparedBatch | RescaledBatch = batch;
  const outcome = assertFiniteBatch(batch, moments, context, names);
  if (outcome === "overflow" || hasUnderflow(batch, moments)) {
    kernel = rescaleBatch(batch);
    moments = computeBatchMoments(
      kernel.x,
      kernel.n,
      kernel.count,
      kernel.features,
      kernel.confounds,
    );
  }
  const raw = new Float64Array(batch.features * batch.confounds);
  const settings = { tol, abs: options.abs, zeroVariance: options.zeroVariance };
  const result = resultFromMoments(moments, batch.order, settings, raw);
  return { result, raw, moments, kernel };
}
