/**
 * What the streams emit for every batch: its own view, the running view and
 * the window (or decay) view.
 *
 * @module
 */

import type { BatchCorrResult } from "../core/correlation_view.ts";
import type { Tensor } from "../core/tensor.ts";

/** Correlations over a set of samples and their loss. */
export interface CorrelationView {
  /** The tolerance applied (resolved from `"auto"`). */
  tol: number;
  /** `nu * scalarisation(correlations)`. */
  loss: number;
  /** The thresholded `(F, M)` correlations (absent with output "losses"). */
  correlations?: BatchCorrResult;
}

/** The window (or decay) view, with the sample size its tolerance used. */
export interface WindowView extends CorrelationView {
  /** Samples in the window, or `(Σw)² / Σw²` with decay. */
  effectiveCount: number;
}

/** What the stream emits for each batch. */
export interface BatchResult {
  /** 0-based index of the batch in the stream. */
  index: number;
  /** B of this batch (NaN when a skipped batch had no readable size). */
  batchSize: number;
  /** Samples folded into the running state so far. */
  count: number;
  /** The batch's own tolerance (NaN when skipped). */
  tol: number;
  /** `nu * scalarisation(batchCorr(batch alone))` (NaN when skipped). */
  loss: number;
  /** `batchCorr` of the batch alone (absent with output "losses" or when skipped). */
  correlations?: BatchCorrResult;
  /** Over every sample so far (unchanged by a skipped batch; NaN before the first batch). */
  running: CorrelationView;
  /** Over the last `window` batches, or with `decay` (when one of them is set). */
  window?: WindowView;
  /** `∂ loss / ∂ x` for this batch, in x's shape (with the `gradient` option). */
  gradient?: Tensor;
  /** `∂ loss / ∂ n` for this batch, in n's shape (with `gradient: "both"`). */
  gradientN?: Tensor;
  /** Present when `onInvalid` is "skip" and this batch was invalid: it was not folded in. */
  skipped?: {
    /** Why, as the error message. */
    reason: string;
    /** The error itself. */
    error?: unknown;
  };
}
