/**
 * The types this entry point's signatures share with `@tensorflow/tfjs` and
 * with the core, as aliases: they are the same types (a `tf.Tensor` is a
 * `TfTensor`), named here so that this entry point documents itself.
 *
 * @module
 */

import type { Scalar, Tensor, Tensor2D } from "@tensorflow/tfjs";
import type { BatchCorrOptions } from "../core/batch_corr_options.ts";
import type { Scalarisation } from "../core/scalarise.ts";
import type { TensorLike } from "../core/tensor.ts";
import type { ValueAndGradOptions } from "../loss/value_and_grad_options.ts";
import type { Batch } from "../stream/batch.ts";
import type { TfCompute } from "./_host_correlation_op.ts";

export type { TfCompute };

/** A `tf.Tensor` of `@tensorflow/tfjs`. */
export type TfTensor = Tensor;
/** A `tf.Tensor2D` of `@tensorflow/tfjs`. */
export type TfTensor2D = Tensor2D;
/** A `tf.Scalar` of `@tensorflow/tfjs`. */
export type TfScalar = Scalar;
/** The core's `TensorLike`: `{ data, shape }`, nested arrays or a typed array, in float64. */
export type HostTensor = TensorLike;
/** The core's `Batch`: one mini-batch `{ x, n }` of host tensors. */
export type HostBatch = Batch;
/** The core's `Scalarisation` objects (`sum`, `mean`, `meansq`, `max`, `vnorm(p)`). */
export type CoreScalarisation = Scalarisation;
/** The option the tfjs entry point adds to `batchCorr`'s (`tol`, `tolSig`, `abs`, `zeroVariance`, `maxElements`). */
export interface TfComputeOptions {
  /**
   * Where the correlations and their gradient are computed. `"auto"`: on the
   * host, in float64, on the cpu backend, and on the wasm backend for x of up
   * to 8,192 elements (their tensors are host memory, so reading them back
   * stalls nothing, and a few kernels replace the tf-ops graph's hundred);
   * in tf ops otherwise, and always on webgl and webgpu, so the data never
   * leave the device. `"host"` reads back on any backend; `"tf"` runs the tf
   * ops (float32) everywhere. Both agree with the float64 core to 1e-5
   * relative outside nearly collinear pairs (see docs/tfjs.md).
   * @default {"auto"}
   */
  compute?: TfCompute;
}

/** Options of {@linkcode batchCorrTf}: `batchCorr`'s and {@linkcode TfComputeOptions}. */
export type BatchCorrTfOptions = BatchCorrOptions & TfComputeOptions;
/** Options of `BatchCorrelationLossTf.valueAndGrad`: `wrt`, `"X"` (default) or `"both"`. */
export type ValueAndGradTfOptions = ValueAndGradOptions;
