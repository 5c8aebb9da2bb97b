/**
 * The correlation view (moments → r → threshold) on the WebAssembly kernel
 * where it applies: natural feature order, batches large enough that the
 * copies pay. Same bits as `thresholdedFromMoments`, which runs elsewhere.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import {
  type BatchCorrResult,
  thresholdedFromMoments,
  type ViewSettings,
  zeroVarianceCounts,
} from "../core/correlation_view.ts";
import { wasmView } from "./_wasm_kernel.ts";

/** Below this many F·M elements the TypeScript view is as fast as the copies in and out. */
const WASM_VIEW_MIN_ELEMENTS = 256;

/**
 * `thresholdedFromMoments(moments, order, tol, abs, zeroVariance, out)`, in
 * WebAssembly SIMD when `order` is undefined and the moments are large
 * enough; the same values either way (NaN payloads aside).
 *
 * @param moments The moments, features in natural order.
 * @param order The feature permutation, or undefined.
 * @param settings The tolerance, sign and 0/0 policy.
 * @param out Storage of length F·M.
 * @returns `out`.
 */
export function thresholdedView(
  moments: BatchMoments,
  order: Int32Array | undefined,
  settings: ViewSettings,
  out: Float64Array,
): Float64Array {
  const { tol, abs, zeroVariance } = settings;
  const degenerate = zeroVariance === "nan" ? Number.NaN : 0;
  const fits = order === undefined &&
    moments.features * moments.confounds >= WASM_VIEW_MIN_ELEMENTS;
  if (fits && wasmView(moments.m2X, moments.m2N, moments.comoment, tol, abs, degenerate, out)) {
    return out;
  }
  return thresholdedFromMoments(moments, order, tol, abs, zeroVariance, out);
}

/**
 * `resultFromMoments` (the view as a `BatchCorrResult`, in a new array) through
 * {@linkcode thresholdedView}.
 *
 * @param moments The moments, features in natural order.
 * @param order The feature permutation, or undefined.
 * @param settings The tolerance, sign and 0/0 policy.
 * @returns The result.
 */
export function resultView(
  moments: BatchMoments,
  order: Int32Array | undefined,
  settings: ViewSettings,
): BatchCorrResult {
  const data = new Float64Array(moments.features * moments.confounds);
  return {
    data: thresholdedView(moments, order, settings, data),
    shape: [moments.features, moments.confounds],
    tol: settings.tol,
    ...zeroVarianceCounts(moments),
  };
}
