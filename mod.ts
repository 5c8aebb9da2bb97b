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

// core: tensors, options, errors, limits, the correlation view, auto_tol, scalarisations
export type {
  NestedNumbers,
  NumericArray,
  Tensor,
  TensorInput,
  TensorLike,
} from "./src/core/tensor.ts";
export type { BatchCorrOptions } from "./src/core/batch_corr_options.ts";
export type { BatchCorrResult, ZeroVariancePolicy } from "./src/core/correlation_view.ts";
export type { BatchMoments } from "./src/core/batch_moments.ts";
export { BatchCorrError, type BatchCorrErrorCode } from "./src/core/errors.ts";
export { DEFAULT_MAX_ELEMENTS } from "./src/core/limits.ts";
export { autoTol } from "./src/core/auto_tol.ts";
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

// which batch kernel runs
export {
  defaultMomentsKernel,
  lastMomentsKernel,
  type MomentsKernel,
  type MomentsKernelRun,
} from "./src/kernels/compute_batch_moments.ts";

// batchCorr and its float32 twin
export { batchCorr } from "./src/batch_corr/batch_corr.ts";
export { qcfc } from "./src/batch_corr/qcfc.ts";
export { batchCorrFloat32 } from "./src/batch_corr/batch_corr_float32.ts";
export { batchCorrAsync, type BatchCorrAsyncOptions } from "./src/batch_corr/batch_corr_async.ts";
export type { ThreadsOption } from "./src/core/threads_option.ts";
export { closeWorkerPool } from "./src/kernels/compute_moments_parallel.ts";

// losses and their gradients
export {
  BatchCorrelationLoss,
  type BatchCorrelationLossOptions,
} from "./src/loss/batch_correlation_loss.ts";
export { QCFCLoss } from "./src/loss/qcfc_loss.ts";
export type { ValueAndGradOptions, ValueAndGradResult } from "./src/loss/value_and_grad_options.ts";

// the running state and its snapshots
export { CorrelationAccumulator } from "./src/accumulator/correlation_accumulator.ts";
export type {
  CorrelationAccumulatorOptions,
  MergeOptions,
} from "./src/accumulator/correlation_accumulator_options.ts";
export type { AccumulatorSnapshot } from "./src/accumulator/snapshot_json.ts";

// streams
export type { Batch } from "./src/stream/batch.ts";
export type { BatchResult, CorrelationView, WindowView } from "./src/stream/batch_result.ts";
export { correlateBatches, type CorrelateBatchesOptions } from "./src/stream/correlate_batches.ts";
export {
  BatchCorrStream,
  batchCorrStream,
  type BatchCorrStreamOptions,
} from "./src/stream/batch_corr_stream.ts";
export type { BackendBatch, CorrelationBackend } from "./src/stream/correlation_backend.ts";
export {
  type Row,
  type RowBatch,
  rowsToBatches,
  type RowsToBatchesOptions,
} from "./src/stream/rows_to_batches.ts";
export type { Source } from "./src/stream/source.ts";

// ONNX export and ONNX Runtime backends
export {
  exportBatchCorrOnnx,
  type ExportBatchCorrOnnxOptions,
  ONNX_IO,
  ONNX_IR_VERSION,
  ONNX_OPSET,
} from "./src/onnx/export_batch_corr_onnx.ts";
export {
  AUTO_PROVIDER_ORDER,
  type OnnxBackend,
  type OnnxBackendOptions,
  type OnnxPackageStatus,
  type OnnxProvider,
  type OnnxRunOptions,
  type OnnxRunResult,
} from "./src/onnx/onnx_backend.ts";
export { createOnnxBackend } from "./src/onnx/create_onnx_backend.ts";
