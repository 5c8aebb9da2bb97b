/**
 * hypercoil's batch-axis correlation loss (`batch_corr`, `auto_tol`,
 * `BatchCorrelationLoss`) for Deno and Bun, number for number in float64.
 *
 * `batchCorr(X, N)` correlates every feature of a mini-batch `X` (batch on the
 * first axis) with every confound in `N` (`(B)` or `(M, B)`) across the batch,
 * soft-thresholds the correlations at a tolerance, and returns an `(F, M)`
 * tensor; `BatchCorrelationLoss` scalarises it into a loss that pushes learned
 * features to be uncorrelated with confounds such as motion, site or age.
 *
 * @example Penalising correlation with a confound
 * ```ts
 * import { BatchCorrelationLoss, batchCorr, autoTol } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const X = { data: new Float64Array([0.2, 1.1, 0.4, 0.9, 0.5, 1.3, 0.9, 0.7, 1.0, 0.8]), shape: [5, 2] };
 * const motion = [0.1, 0.2, 0.3, 0.4, 0.5];
 *
 * const r = batchCorr(X, motion, { tol: "auto" });
 * assert.deepEqual(r.shape, [2, 1]);
 * assert.equal(r.tol, autoTol(5));
 *
 * const loss = new BatchCorrelationLoss({ nu: 1, scalarisation: "mean" });
 * console.log(`loss = ${loss.evaluate(X, motion).toFixed(4)}`);
 * ```
 *
 * @module
 */

export { autoTol } from "./src/core/auto_tol.ts";
export {
  type BatchCorrOptions,
  type BatchCorrResult,
  batchCorr,
  qcfc,
  type ResolvedCorrelationOptions,
} from "./src/batch_corr/batch_corr.ts";
export { BatchCorrError, type BatchCorrErrorCode } from "./src/core/errors.ts";
export {
  BatchCorrelationLoss,
  type BatchCorrelationLossOptions,
  QCFCLoss,
  type ResolvedLossOptions,
} from "./src/loss/batch_correlation_loss.ts";
export {
  max,
  mean,
  meansq,
  type Scalarisation,
  type ScalarisationLike,
  type ScalarisationName,
  sum,
  vnorm,
} from "./src/core/scalarise.ts";
export type { NestedNumbers, NumericArray, Tensor, TensorInput, TensorLike } from "./src/core/tensor.ts";
export type { ZeroVariancePolicy } from "./src/core/correlation_view.ts";
export type { ValueAndGradOptions, ValueAndGradResult } from "./src/loss/loss_gradient.ts";
export {
  type AccumulatorOptions,
  type AccumulatorSnapshot,
  CorrelationAccumulator,
} from "./src/accumulator/correlation_accumulator.ts";
export {
  type Batch,
  BatchCorrStream,
  batchCorrStream,
  type BatchCorrStreamOptions,
  type BatchResult,
  correlateBatches,
  type CorrelationView,
  type StreamOptions,
  type WindowView,
} from "./src/stream/correlate_batches.ts";
export type { CorrelationBackend } from "./src/stream/correlation_backend.ts";
export type { BatchMoments, KernelArray } from "./src/kernels/compute_batch_moments.ts";
export type { PreparedBatch } from "./src/core/prepare_batch.ts";
export { type BatcherOptions, type Row, type RowBatch, rowsToBatches } from "./src/stream/rows_to_batches.ts";
export type { Source } from "./src/stream/source.ts";
export { exportBatchCorrOnnx, type ExportBatchCorrOnnxOptions, ONNX_IO, ONNX_IR_VERSION, ONNX_OPSET } from "./src/onnx/export_batch_corr_onnx.ts";
export {
  AUTO_PROVIDER_ORDER,
  createOnnxBackend,
  OnnxBackend,
  type OnnxBackendOptions,
  type OnnxProvider,
  type OnnxRunOptions,
  type OnnxRunResult,
} from "./src/onnx/_onnx_backend_impl.ts";
export type { ConcreteOnnxProvider } from "./src/onnx/_runtime.ts";
export { DEFAULT_MAX_ELEMENTS } from "./src/core/limits.ts";
export { batchCorrFloat32 } from "./src/batch_corr/batch_corr_float32.ts";
