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
/** Options of {@linkcode batchCorrTf}: `batchCorr`'s (`tol`, `tolSig`, `abs`, `zeroVariance`, `maxElements`). */
export type BatchCorrTfOptions = BatchCorrOptions;
/** Options of `BatchCorrelationLossTf.valueAndGrad`: `wrt`, `"X"` (default) or `"both"`. */
export type ValueAndGradTfOptions = ValueAndGradOptions;
