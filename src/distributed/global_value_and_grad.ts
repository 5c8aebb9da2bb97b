/**
 * The loss of the global batch and its gradient with respect to one rank's
 * slice of it, from the all-reduced global moments.
 *
 * @module
 */

import { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import type { Tensor, TensorLike } from "../core/tensor.ts";
import type { BatchCorrelationLoss } from "../loss/batch_correlation_loss.ts";
import {
  parseValueAndGradOptions,
  type ValueAndGradOptions,
  type ValueAndGradResult,
} from "../loss/value_and_grad_options.ts";
import { ruleMessage } from "../core/errors.ts";
import { featureOrder } from "../core/feature_order.ts";
import { toDenseTensor } from "../core/tensor.ts";

/**
 * `loss.valueAndGrad` of the whole global batch, restricted to this rank's
 * rows: the value is the loss of the global batch (identical on every rank),
 * and `grad` is `∂ L_global / ∂ X_local`, so that the ranks' gradients,
 * stacked in rank order, are the gradient of the whole batch.
 *
 * Derivation (as `BatchCorrelationLoss.valueAndGrad`, with every statistic
 * global): with global means `x̄_f`, `n̄_m`, sums of squares `sx_f²`, `sn_m²`,
 * correlations `r_fm` and `G_fm = nu · s'(T(r))_fm · T'(r_fm)`, a sample `b`
 * of any rank has
 *
 *   ∂L/∂x_bf = Σ_m A_fm (n_mb − n̄_m) − c_f (x_bf − x̄_f),   A_fm = G_fm / (sx_f sn_m),  c_f = Σ_m G_fm r_fm / sx_f²,
 *   ∂L/∂n_mb = Σ_f A_fm (x_bf − x̄_f) − d_m (n_mb − n̄_m),   d_m = Σ_f G_fm r_fm / sn_m²,
 *
 * since the centring's own derivative cancels over the global batch. Every
 * term is a global statistic except the sample itself, so each rank needs only
 * the all-reduced moments and its own rows. `tol: "auto"` uses the global B.
 *
 * @param loss The loss (its tolerance, scalarisation and `nu`).
 * @param X This rank's features, batch first.
 * @param N This rank's confounds, `(B_local)` or `(M, B_local)`.
 * @param global The global batch's moments, from `allReduceMoments`.
 * @param options `wrt: "both"` adds `gradN`.
 * @returns The global loss value and the gradients for this rank's rows.
 * @throws {TypeError} If the slice's feature shape or confounds differ from
 * the global state's, or the scalarisation has no gradient.
 * @throws {RangeError} If the slice is empty or holds NaN, the global state
 * is empty, or `tol` is "auto" with fewer than 3 global samples.
 *
 * @example Two slices give the whole batch's gradient
 * ```ts
 * import { BatchCorrelationLoss, CorrelationAccumulator } from "@streamcorr/batch-corr";
 * import { globalValueAndGrad } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const loss = new BatchCorrelationLoss({ scalarisation: "meansq" });
 * const top = { x: [[1.0, 0.3], [1.6, 0.1], [1.2, 0.9]], n: [0.1, 0.4, 0.2] };
 * const bottom = { x: [[2.1, 0.4], [1.7, 0.2], [1.4, 0.6]], n: [0.8, 0.5, 0.3] };
 * const global = new CorrelationAccumulator().update(top.x, top.n).update(bottom.x, bottom.n);
 * const whole = loss.valueAndGrad([...top.x, ...bottom.x], [...top.n, ...bottom.n]);
 * const a = globalValueAndGrad(loss, top.x, top.n, global);
 * const b = globalValueAndGrad(loss, bottom.x, bottom.n, global);
 * assert.ok(Math.abs(a.value - whole.value) < 1e-12);
 * const stacked = [...a.grad.data, ...b.grad.data];
 * stacked.forEach((g, i) => assert.ok(Math.abs(g - whole.grad.data[i]!) < 1e-10));
 * ```
 */
export function globalValueAndGrad(
  loss: BatchCorrelationLoss,
  X: TensorLike,
  N: TensorLike,
  global: CorrelationAccumulator,
  options: ValueAndGradOptions = {},
): ValueAndGradResult {
  const context = "compute the global-batch valueAndGrad";
  if (!(global instanceof CorrelationAccumulator)) {
    throw new TypeError(
      ruleMessage(context, "global", "a CorrelationAccumulator (from allReduceMoments)", global),
    );
  }
  if (global.count === 0) {
    throw new RangeError(ruleMessage(context, "the global state's count", "positive", 0));
  }
  // The loss's own option parser: own properties only, unknown keys refused.
  const wrt = parseValueAndGradOptions(options, context).wantN ? "both" : "X";
  const { tol, tolSig, abs, zeroVariance, maxElements, nu, scalarisation } = loss.options;
  if (typeof scalarisation.gradient !== "function") {
    throw new TypeError(
      ruleMessage(
        context,
        "the loss's scalarisation",
        "one with a gradient (a built-in or a Scalarisation with gradient())",
        scalarisation.name,
      ),
    );
  }
  const featureShape = global.featureShape!;
  // Validates the slice (shape, confounds, finite values) with the library's own messages.
  new CorrelationAccumulator({ featureShape, confounds: global.confounds, maxElements }).update(
    X,
    N,
  );
  const x = toDenseTensor(X, "X", context), n = toDenseTensor(N, "N", context);
  const B = x.shape[0]!, F = global.features, M = global.confounds;

  const thresholded = global.correlations({ tol, tolSig, abs, zeroVariance, maxElements });
  const value = nu * scalarisation.reduce(thresholded.data);
  if (Number.isNaN(value)) {
    const gradX = new Float64Array(B * F).fill(Number.NaN);
    return withShapes(
      value,
      gradX,
      wrt === "both" ? new Float64Array(M * B).fill(Number.NaN) : undefined,
      x.shape,
      n.shape,
    );
  }
  const raw = global.correlations({ tol: 0, abs: false, zeroVariance: "zero", maxElements }).data;
  const weights = new Float64Array(F * M);
  scalarisation.gradient(thresholded.data, weights);
  for (let i = 0; i < weights.length; i++) {
    const r = raw[i]!;
    weights[i] = Math.abs(r) > thresholded.tol ? nu * weights[i]! * (abs ? Math.sign(r) : 1) : 0;
  }
  const order = featureOrder([1, ...featureShape]);
  const moments = global.moments();
  // The state keeps each mean as hi + lo; centring on the rounded mean alone puts up to half an
  // ulp into every deviation, which for columns far from zero (1.7e9 + 0.001·noise) is 7e-5 of it.
  const { meanX: hiX, meanXLo: loX, meanN: hiN, meanNLo: loN } = global.toJSON();
  const { scaled, rowTerm, columnTerm } = scaleWeights(
    toNatural(weights, order, M),
    toNatural(raw, order, M),
    moments,
  );
  const gradX = new Float64Array(B * F);
  const gradN = wrt === "both" ? new Float64Array(M * B) : undefined;
  const centredN = new Float64Array(M), totalN = new Float64Array(M);
  for (let b = 0; b < B; b++) {
    for (let m = 0; m < M; m++) centredN[m] = (n.data[m * B + b]! - hiN[m]!) - loN[m]!;
    totalN.fill(0);
    for (let f = 0; f < F; f++) {
      const centredX = (x.data[b * F + f]! - hiX[f]!) - loX[f]!;
      let total = 0;
      for (let m = 0; m < M; m++) {
        total += scaled[f * M + m]! * centredN[m]!;
        totalN[m]! += scaled[f * M + m]! * centredX;
      }
      gradX[b * F + f] = total - rowTerm[f]! * centredX;
    }
    if (gradN) {
      for (let m = 0; m < M; m++) gradN[m * B + b] = totalN[m]! - columnTerm[m]! * centredN[m]!;
    }
  }
  return withShapes(value, gradX, gradN, x.shape, n.shape);
}

/** Rows in hypercoil's feature order back to X's natural column order. */
function toNatural(values: Float64Array, order: Int32Array | undefined, M: number): Float64Array {
  if (!order) return values;
  const out = new Float64Array(values.length);
  for (let f = 0; f < order.length; f++) out.set(values.subarray(f * M, f * M + M), order[f]! * M);
  return out;
}

/** `A_fm = G_fm / (sx_f sn_m)`, `c_f = Σ_m G_fm r_fm / sx_f²`, `d_m = Σ_f G_fm r_fm / sn_m²`; 0 for zero variance. */
function scaleWeights(
  weights: Float64Array,
  raw: Float64Array,
  moments: { features: number; confounds: number; m2X: Float64Array; m2N: Float64Array },
) {
  const { features: F, confounds: M, m2X, m2N } = moments;
  const scaled = new Float64Array(F * M),
    rowTerm = new Float64Array(F),
    columnTerm = new Float64Array(M);
  for (let f = 0; f < F; f++) {
    const sx = Math.sqrt(m2X[f]!);
    for (let m = 0; m < M; m++) {
      const i = f * M + m, sn = Math.sqrt(m2N[m]!), g = weights[i]!;
      if (g === 0 || sx === 0 || sn === 0) continue;
      scaled[i] = g / (sx * sn);
      rowTerm[f]! += (g * raw[i]!) / m2X[f]!;
      columnTerm[m]! += (g * raw[i]!) / m2N[m]!;
    }
  }
  return { scaled, rowTerm, columnTerm };
}

function withShapes(
  value: number,
  gradX: Float64Array,
  gradN: Float64Array | undefined,
  xShape: number[],
  nShape: number[],
): ValueAndGradResult {
  const grad: Tensor = { data: gradX, shape: [...xShape] };
  return gradN ? { value, grad, gradN: { data: gradN, shape: [...nShape] } } : { value, grad };
}
