/**
 * hypercoil's `BatchCorrelationLoss` as a differentiable TensorFlow.js loss.
 *
 * @module
 */

import { parseValueAndGradOptions } from "../loss/value_and_grad_options.ts";
import { z } from "zod";
import { lossOptionsSchema } from "../loss/loss_options.ts";
import { parseOptions } from "../core/parse_options.ts";
import {
  checkTfArguments,
  correlateTf,
  TF_OPTION_RULES,
  TF_OPTION_SHAPE,
  type TfCorrelationSettings,
} from "./_correlate_tf.ts";
import type { TfCompute } from "./_host_correlation_op.ts";
import {
  resolveTfScalarisation,
  TF_SCALARISATION_RULE,
  type TfScalarisation,
} from "./_scalarise_tf.ts";
import { tf } from "./_tfjs.ts";
import type {
  BatchCorrTfOptions,
  CoreScalarisation,
  TfScalar,
  TfTensor,
  TfTensor2D,
  ValueAndGradTfOptions,
} from "./tf_types.ts";

export type { TfScalarisation };

/** What the `scalarisation` option of {@linkcode BatchCorrelationLossTf} accepts. */
export type TfScalarisationLike =
  | "sum"
  | "mean"
  | "meansq"
  | "max"
  | "vnorm"
  | CoreScalarisation
  | ((values: TfTensor2D) => TfScalar);

/** Options of {@linkcode BatchCorrelationLossTf}: those of `BatchCorrelationLoss`. */
export interface BatchCorrelationLossTfOptions extends BatchCorrTfOptions {
  /**
   * Loss strength multiplier applied to the scalarised value.
   * @default {1}
   */
  nu?: number;
  /**
   * The loss's name, for reports and messages.
   * @default {"BatchCorrelation"}
   */
  name?: string;
  /**
   * How the `(F, M)` tensor is reduced to one number: "sum", "mean",
   * "meansq", "max", "vnorm" (p = 2); the core's `sum`, `mean`, `meansq`,
   * `max` or `vnorm(p)` (run as tf ops with the same derivatives); or a
   * function `(values: tf.Tensor2D) => tf.Scalar`, differentiated by tf.
   * @default {"mean"}
   */
  scalarisation?: TfScalarisationLike;
}

/** What {@linkcode BatchCorrelationLossTf.valueAndGrad} returns: tensors the caller disposes. */
export interface ValueAndGradTfResult {
  /** The loss, as {@linkcode BatchCorrelationLossTf.evaluate} gives it. */
  value: TfScalar;
  /** `∂ loss / ∂ x`, x's shape. */
  grad: TfTensor;
  /** `∂ loss / ∂ n`, n's shape; only with `wrt: "both"`. */
  gradN?: TfTensor;
}

const LOSS_TF_RULES: Record<string, string> = {
  ...TF_OPTION_RULES,
  scalarisation: TF_SCALARISATION_RULE,
};

const lossTfOptionsSchema = z.strictObject({ ...lossOptionsSchema.shape, ...TF_OPTION_SHAPE });

/**
 * Batch correlation loss on TensorFlow.js tensors: its value on `(x, n)` is
 * `nu · scalarisation(batchCorrTf(x, n, { tol, tolSig, abs, zeroVariance }))`,
 * a `tf.Scalar` that `optimizer.minimize`, `tf.grad` or `tf.variableGrads`
 * differentiate with the library's closed-form gradient (with respect to x
 * and, for learned confounds, n). Options and defaults are
 * `BatchCorrelationLoss`'s; they are validated once, here.
 *
 * @example Decorrelating a layer's outputs from a confound
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { BatchCorrelationLossTf } from "@streamcorr/batch-corr/tfjs";
 * import assert from "node:assert/strict";
 *
 * await tf.setBackend("cpu");
 * const confound = tf.tensor1d([0.1, 0.9, 0.4, 0.7, 0.2, 0.8]);
 * const inputs = tf.tensor2d([[1, 0.2], [3, 0.1], [2, 0.5], [2.8, 0.9], [1.1, 0.4], [3.1, 0.3]]);
 * const weights = tf.variable(tf.tensor2d([[1], [1]]));
 * const loss = new BatchCorrelationLossTf({ tol: 0.05 });
 *
 * const optimizer = tf.train.sgd(0.5);
 * const before = tf.tidy(() => loss.evaluate(inputs.matMul(weights), confound).dataSync()[0]!);
 * for (let step = 0; step < 50; step++) {
 *   optimizer.minimize(() => loss.evaluate(inputs.matMul(weights), confound));
 * }
 * const after = tf.tidy(() => loss.evaluate(inputs.matMul(weights), confound).dataSync()[0]!);
 * assert.ok(after < before / 2, `${before} -> ${after}`);
 * tf.dispose([confound, inputs, weights]);
 * optimizer.dispose();
 * ```
 */
export class BatchCorrelationLossTf {
  /** Loss strength multiplier. */
  readonly nu: number;
  /** The loss's name. */
  readonly name: string;
  /** The tolerance: a number or "auto" (resolved from each batch's size). */
  readonly tol: number | "auto";
  /** The significance level of `tol: "auto"`. */
  readonly tolSig: number;
  /** Whether the sign of r is dropped. */
  readonly abs: boolean;
  /** What a zero-variance pair gives. */
  readonly zeroVariance: "zero" | "nan";
  /** The scalarisation, as tf ops. */
  readonly scalarisation: TfScalarisation;
  /** Where the correlations and their gradient are computed (see `BatchCorrTfOptions.compute`). */
  readonly compute: TfCompute;
  readonly #settings: TfCorrelationSettings;

  /**
   * Creates the loss.
   *
   * @param options `BatchCorrelationLoss`'s options (hypercoil's defaults when omitted).
   * @throws {TypeError} For an option of the wrong type, an unknown key, or a
   * scalarisation that cannot run as tf ops (a hand-written core
   * `Scalarisation`, which reduces float64 host arrays).
   * @throws {RangeError} For a negative `tol`, `tolSig` outside (0, 1), or a non-finite `nu`.
   */
  constructor(options?: BatchCorrelationLossTfOptions) {
    const context = "create BatchCorrelationLossTf";
    const parsed = parseOptions(lossTfOptionsSchema, options, context, LOSS_TF_RULES);
    this.nu = parsed.nu;
    this.name = parsed.name ?? "BatchCorrelation";
    this.tol = parsed.tol;
    this.tolSig = parsed.tolSig;
    this.abs = parsed.abs;
    this.zeroVariance = parsed.zeroVariance;
    this.scalarisation = resolveTfScalarisation(parsed.scalarisation ?? "mean", context);
    this.#settings = {
      tol: parsed.tol,
      tolSig: parsed.tolSig,
      abs: parsed.abs,
      zeroVariance: parsed.zeroVariance,
      maxElements: parsed.maxElements,
      compute: parsed.compute,
    };
    this.compute = parsed.compute;
  }

  /**
   * The loss on one batch, as a differentiable tf scalar.
   *
   * @param x Features, batch first (see `batchCorrTf`).
   * @param n Confounds, `(B)` or `(M, B)`.
   * @returns `nu · scalarisation(batchCorrTf(x, n))`, a new scalar.
   * @throws {TypeError} As `batchCorrTf`; or if a function scalarisation
   * does not return a tf scalar.
   * @throws {RangeError} As `batchCorrTf`.
   * @throws {BatchCorrError} "resource_limit" if F·M exceeds `maxElements`.
   */
  evaluate(x: TfTensor, n: TfTensor): TfScalar {
    const context = `evaluate ${this.name}`;
    return tf.tidy(() => {
      const values = correlateTf(x, n, this.#settings, context, ["x", "n"]);
      const reduced = this.scalarisation.reduce(values);
      return (this.nu === 1 ? reduced : reduced.mul(this.nu)) as TfScalar;
    });
  }

  /**
   * The loss and its gradient with respect to x (and, with `wrt: "both"`, n),
   * for loops that apply gradients themselves; `tf.valueAndGrads` over
   * {@linkcode BatchCorrelationLossTf.evaluate}.
   *
   * @param x Features, batch first.
   * @param n Confounds, `(B)` or `(M, B)`.
   * @param options `wrt`: `"X"` (default) or `"both"`.
   * @returns The value and gradients, new tensors the caller disposes.
   * @throws {TypeError} As {@linkcode BatchCorrelationLossTf.evaluate}; for a
   * bad `wrt` or an unknown option.
   * @throws {RangeError} As {@linkcode BatchCorrelationLossTf.evaluate}.
   * @throws {BatchCorrError} As {@linkcode BatchCorrelationLossTf.evaluate}.
   *
   * @example The gradient of the loss
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { BatchCorrelationLossTf } from "@streamcorr/batch-corr/tfjs";
   * import assert from "node:assert/strict";
   *
   * await tf.setBackend("cpu");
   * const x = tf.tensor2d([[1, 0.3], [1.6, 0.1], [1.2, 0.9], [2.1, 0.4]]);
   * const motion = tf.tensor1d([0.1, 0.4, 0.2, 0.8]);
   * const { value, grad, gradN } = new BatchCorrelationLossTf().valueAndGrad(x, motion, { wrt: "both" });
   * assert.deepEqual(grad.shape, [4, 2]);
   * assert.deepEqual(gradN!.shape, [4]);
   * assert.ok(value.dataSync()[0]! > 0);
   * tf.dispose([x, motion, value, grad, gradN!]);
   * ```
   */
  valueAndGrad(x: TfTensor, n: TfTensor, options?: ValueAndGradTfOptions): ValueAndGradTfResult {
    const context = `compute valueAndGrad of ${this.name}`;
    const { wantN } = parseValueAndGradOptions(options, context);
    // Fail with the loss's own messages before tf's gradient functions see the inputs.
    checkTfArguments(x, n, this.#settings, context, ["x", "n"]);
    if (!wantN) {
      const { value, grad } = tf.valueAndGrad((input: TfTensor) => this.evaluate(input, n))(x);
      return { value: value as TfScalar, grad };
    }
    const { value, grads } = tf.valueAndGrads((a: TfTensor, b: TfTensor) => this.evaluate(a, b))([
      x,
      n,
    ]);
    return { value: value as TfScalar, grad: grads[0]!, gradN: grads[1]! };
  }
}
