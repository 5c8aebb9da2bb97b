/**
 * hypercoil's `BatchCorrelationLoss`.
 *
 * @module
 */

import type { BatchCorrOptions } from "../core/batch_corr_options.ts";
import { checkBatchShapes, prepareBatch } from "../core/prepare_batch.ts";
import type { Scalarisation, ScalarisationLike } from "../core/scalarise.ts";
import { type Tensor, type TensorLike, toDenseTensor } from "../core/tensor.ts";
import { batchCorrResult } from "../batch_corr/batch_corr_prepared.ts";
import { lossValueAndGrad } from "./loss_gradient.ts";
import { resolveLossOptions } from "./loss_options.ts";
import {
  parseValueAndGradOptions,
  type ValueAndGradOptions,
  type ValueAndGradResult,
} from "./value_and_grad_options.ts";

/** Options of {@linkcode BatchCorrelationLoss} and {@linkcode QCFCLoss}. */
export interface BatchCorrelationLossOptions extends BatchCorrOptions {
  /**
   * Loss strength multiplier applied to the scalarised value.
   * @default {1}
   */
  nu?: number;
  /**
   * The loss's name, for reports.
   * @default {"BatchCorrelation"} ("QCFC" for QCFCLoss)
   */
  name?: string;
  /**
   * How the `(F, M)` tensor is reduced to one number: "sum", "mean", "meansq",
   * "max", "vnorm" (p = 2), a {@linkcode Scalarisation} such as `vnorm(1)`, or
   * a function `(values) => number` (which has no gradient).
   * @default {"mean"}
   */
  scalarisation?: ScalarisationLike;
}

/**
 * Batch correlation loss, as hypercoil's `BatchCorrelationLoss`: its value on
 * `(X, N)` is `nu * scalarisation(batchCorr(X, N, { tol, tolSig, abs }))`.
 * Minimising it pushes learned features to be uncorrelated with confounds.
 *
 * @example A loss with a significance-based tolerance
 * ```ts
 * import { BatchCorrelationLoss } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const loss = new BatchCorrelationLoss({ nu: 0.5, tol: 0.1 });
 * const X = { data: new Float64Array([1, 2, 3, 4, 2, 1, 4, 3]), shape: [4, 2] };
 * const N = [0, 1, 2, 3];
 * const value = loss.evaluate(X, N);
 * assert.ok(value >= 0 && value <= 0.5);
 * assert.equal(loss.name, "BatchCorrelation");
 * ```
 */
export class BatchCorrelationLoss {
  /** Loss strength multiplier. */
  readonly nu: number;
  /** The loss's name. */
  readonly name: string;
  /** The resolved configuration: every option with its default applied. */
  readonly options: Readonly<Required<Omit<BatchCorrelationLossOptions, "scalarisation">>> & {
    /** The scalarisation in use. */
    readonly scalarisation: Scalarisation;
  };
  /** Argument names used in error messages. */
  protected readonly argumentNames: readonly [string, string] = ["X", "N"];

  /**
   * Creates the loss.
   *
   * @param options Loss options (hypercoil's defaults when omitted).
   * @throws {TypeError} For an option of the wrong type or an unknown key.
   * @throws {RangeError} For a negative `tol`, `tolSig` outside (0, 1), or a non-finite `nu`.
   */
  constructor(options?: BatchCorrelationLossOptions) {
    this.options = Object.freeze(
      resolveLossOptions(options, this.defaultName(), `create ${this.constructor.name}`),
    );
    this.nu = this.options.nu;
    this.name = this.options.name;
  }

  /** The name used when none is given. */
  protected defaultName(): string {
    return "BatchCorrelation";
  }

  /**
   * The loss's value on one batch.
   *
   * @param X Features, batch first (see `batchCorr`).
   * @param N Confounds, `(B)` or `(M, B)`.
   * @returns `nu * scalarisation(batchCorr(X, N, options))`.
   * @throws {TypeError} As `batchCorr`.
   * @throws {RangeError} As `batchCorr`.
   * @throws {BatchCorrError} "resource_limit" if F·M exceeds `options.maxElements`.
   */
  evaluate(X: TensorLike, N: TensorLike): number {
    const context = `evaluate ${this.name}`;
    const batch = prepareBatch(X, N, context, this.argumentNames, this.options.maxElements);
    const result = batchCorrResult(batch, this.options, context, this.argumentNames);
    return this.nu * this.options.scalarisation.reduce(result.data);
  }

  /**
   * The loss's value on one batch and its exact gradient with respect to X
   * (and, with `wrt: "both"`, to N), for training loops without autodiff.
   *
   * The gradient is the closed form of the Pearson correlation's derivative
   * through the centring, times the soft threshold's derivative (0 where
   * `|r| ≤ tol`, `sign(r)` with `abs`, 1 without), times the scalarisation's
   * derivative and `nu`. `tol: "auto"` depends on B only, so it is a constant.
   * A zero-variance feature or confound contributes 0; when the value is NaN
   * (`zeroVariance: "nan"` with such a pair) the gradient is NaN. At a kink
   * (`|r| = tol`, tied maxima) one subgradient is returned. Cost O(B·F·M).
   *
   * Chain it into a model by hand: for outputs `P = Z W`, `∂L/∂W = Zᵀ · grad`.
   *
   * @param X Features, batch first (see `batchCorr`).
   * @param N Confounds, `(B)` or `(M, B)`.
   * @param options `wrt`: `"X"` (default) or `"both"` to add `gradN`.
   * @returns `value` (identical to {@linkcode BatchCorrelationLoss.evaluate}),
   * `grad` with X's shape and row-major layout, and `gradN` with N's shape
   * when asked for; all float64.
   * @throws {TypeError} As `batchCorr`; for a bad `wrt` or unknown option; or
   * if the scalarisation is a plain function, which has no gradient.
   * @throws {RangeError} As `batchCorr`; or if the gradient's magnitude exceeds
   * float64's range (X or N near float64's smallest values: rescale them).
   * @throws {BatchCorrError} "resource_limit" if F·M exceeds `options.maxElements`.
   *
   * @example One gradient-descent step lowers the loss
   * ```ts
   * import { BatchCorrelationLoss } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const loss = new BatchCorrelationLoss({ scalarisation: "meansq" });
   * const motion = [0.1, 0.4, 0.2, 0.8, 0.5, 0.3];
   * const X = { data: new Float64Array([1.0, 0.3, 1.6, 0.1, 1.2, 0.9, 2.1, 0.4, 1.7, 0.2, 1.4, 0.6]), shape: [6, 2] };
   *
   * const { value, grad } = loss.valueAndGrad(X, motion);
   * assert.deepEqual(grad.shape, [6, 2]);
   * const stepped = { data: X.data.map((x, i) => x - 0.5 * grad.data[i]!), shape: X.shape };
   * assert.ok(loss.evaluate(stepped, motion) < value);
   * ```
   */
  valueAndGrad(X: TensorLike, N: TensorLike, options?: ValueAndGradOptions): ValueAndGradResult {
    const context = `compute valueAndGrad of ${this.name}`;
    const { wantN } = parseValueAndGradOptions(options, context);
    const [xName, nName] = this.argumentNames;
    const x = toDenseTensor(X, xName, context);
    const n = toDenseTensor(N, nName, context);
    const batch = checkBatchShapes(x, n, context, this.argumentNames, this.options.maxElements);
    const result = lossValueAndGrad(batch, this.options, wantN, {
      context,
      names: this.argumentNames,
    });
    const grad: Tensor = { data: result.gradX, shape: x.shape };
    // Its own gradN only: without wrt "both" there is none, whatever Object.prototype holds.
    if (!Object.hasOwn(result, "gradN")) return { value: result.value, grad };
    return { value: result.value, grad, gradN: { data: result.gradN!, shape: n.shape } };
  }
}
