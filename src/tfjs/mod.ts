/**
 * hypercoil's batch correlation loss as differentiable TensorFlow.js ops, for
 * training loops in Deno and Bun: `batchCorrTf` and `BatchCorrelationLossTf`
 * compute on the active tfjs backend and differentiate with the library's
 * closed-form gradient.
 *
 * `@tensorflow/tfjs` is an optional peer dependency: importing this module
 * without it throws a `BatchCorrError` ("peer_missing") that names the package
 * and the command that installs it (`deno add npm:@tensorflow/tfjs`,
 * `bun add @tensorflow/tfjs`).
 *
 * @module
 */

export { batchCorrTf } from "./batch_corr_tf.ts";
export {
  BatchCorrelationLossTf,
  type BatchCorrelationLossTfOptions,
  type TfScalarisation,
  type TfScalarisationLike,
  type ValueAndGradTfResult,
} from "./batch_correlation_loss_tf.ts";
export {
  FLOAT32_LARGEST_DEVIATION,
  FLOAT32_SMALLEST_DEVIATION,
  type TfBatch,
  toTfBatch,
  type ToTfBatchOptions,
} from "./to_tf_batch.ts";
export {
  type DatasetLike,
  type LazyIteratorLike,
  type TensorBatch,
  type TensorBatchSource,
  tfBatchSource,
  type TfBatchSourceOptions,
} from "./tf_batch_source.ts";

export type {
  BatchCorrTfOptions,
  CoreScalarisation,
  HostBatch,
  HostTensor,
  TfCompute,
  TfComputeOptions,
  TfScalar,
  TfTensor,
  TfTensor2D,
  ValueAndGradTfOptions,
} from "./tf_types.ts";

/** The core's option types that the tfjs options build on. */
export type { BatchCorrOptions } from "../core/batch_corr_options.ts";
export type { ZeroVariancePolicy } from "../core/correlation_view.ts";
