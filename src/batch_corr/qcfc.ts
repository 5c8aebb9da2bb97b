/**
 * hypercoil's `qcfc`, the alias of `batchCorr` named for quality control and
 * functional connectivity.
 *
 * @module
 */

import type { BatchCorrOptions } from "../core/batch_corr_options.ts";
import type { BatchCorrResult } from "../core/correlation_view.ts";
import type { TensorLike } from "../core/tensor.ts";
import { correlateNamed } from "./batch_corr.ts";

/**
 * Quality control–functional connectivity correlation: hypercoil's `qcfc`,
 * an alias of `batchCorr` with the arguments named `(fc, qc)`.
 *
 * @param fc Functional connectivity (features), batch first.
 * @param qc Quality-control measures: `(B)` or `(M, B)`.
 * @param options As `batchCorr`.
 * @returns As `batchCorr`.
 * @throws {TypeError} As `batchCorr`, naming `fc` and `qc`.
 * @throws {RangeError} As `batchCorr`.
 * @throws {BatchCorrError} As `batchCorr`.
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
  return correlateNamed(fc, qc, options, "compute qcfc", ["fc", "qc"]);
}
