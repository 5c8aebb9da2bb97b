/**
 * The analytic gradient of the batch correlation loss with respect to the
 * features X and the confounds N.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import type { BatchMoments } from "../core/batch_moments.ts";
import { emptyPreciseMoments, fillLowParts, type MeanLowParts } from "../core/precise_means.ts";
import type { BatchCorrResult } from "../core/correlation_view.ts";
import { unpermuteRows } from "../core/feature_order.ts";
import type { PreparedBatch } from "../core/prepare_batch.ts";
import type { RescaledBatch } from "../core/rescale_batch.ts";
import { batchCorrPrepared } from "../batch_corr/batch_corr_prepared.ts";
import type { ResolvedLossOptions } from "./loss_options.ts";

/** What {@linkcode lossValueAndGrad} returns, in kernel layout. */
export interface LossValueAndGrad {
  /** `nu * scalarisation(thresholded)`, identical to `BatchCorrelationLoss.evaluate`. */
  value: number;
  /** `∂ value / ∂ x`, row-major `(B, F)` in natural column order: X's own layout. */
  gradX: Float64Array;
  /** `∂ value / ∂ n`, row-major `(M, B)`: N's own layout. Only when asked for. */
  gradN?: Float64Array;
  /** The batch's thresholded correlations, as `batchCorr` returns them. */
  correlations: BatchCorrResult;
}

/** Message details of {@linkcode lossValueAndGrad}. */
export interface LossValueAndGradExtras {
  /** What was being done, for messages. */
  context?: string;
  /** Argument names for messages. */
  names?: readonly [string, string];
}

/**
 * The loss `nu * s(T(r))` and its exact gradient on one prepared batch, where
 * `r` are the Pearson correlations over the batch, `T` the soft threshold and
 * `s` the scalarisation.
 *
 * Derivation. Write `x̃_bf = x_bf − x̄_f` and `ñ_bm = n_mb − n̄_m` for the
 * centred data, `C_fm = Σ_b x̃_bf ñ_bm`, `sx_f² = Σ_b x̃_bf²`, `sn_m² = Σ_b ñ_bm²`,
 * and `r_fm = C_fm / (sx_f sn_m)`. Since `∂x̃_b'f / ∂x_bf = δ_bb' − 1/B` and
 * `Σ_b' ñ_b'm = Σ_b' x̃_b'f = 0`, the centring drops out of every derivative:
 *
 *   ∂C_fm / ∂x_bf = Σ_b' (δ_bb' − 1/B) ñ_b'm = ñ_bm,
 *   ∂sx_f / ∂x_bf = Σ_b' x̃_b'f (δ_bb' − 1/B) / sx_f = x̃_bf / sx_f,
 *   ∂r_fm / ∂x_bf = ñ_bm / (sx_f sn_m) − r_fm x̃_bf / sx_f².
 *
 * With `G_fm = nu · s'(T(r))_fm · T'(r_fm)` (`T' = sign(r)` for `abs`, `1`
 * otherwise, and 0 where `|r| ≤ tol`), the chain rule gives
 *
 *   ∂L / ∂x_bf = Σ_m A_fm ñ_bm − c_f x̃_bf,   A_fm = G_fm / (sx_f sn_m),  c_f = Σ_m G_fm r_fm / sx_f²,
 *   ∂L / ∂n_mb = Σ_f A_fm x̃_bf − d_m ñ_bm,   d_m = Σ_f G_fm r_fm / sn_m²,
 *
 * which costs O(B·F·M) with temporaries of size F·M, F and M. `tol` is a
 * constant: `"auto"` depends on B only. A pair with a zero-variance side has
 * `r` set to 0 and contributes 0; when the value is NaN (`zeroVariance: "nan"`
 * with such a pair) every gradient element is NaN. At the kinks (`|r| = tol`,
 * ties of `max`) one subgradient is used: 0 at the threshold, shared among tied
 * maxima. A batch whose squares leave float64's range is differentiated on the
 * power-of-two rescaled copy that `batchCorr` uses, and the gradient is divided
 * by each column's divisor, since `∂/∂x = (∂/∂x') / scale` for `x' = x / scale`.
 *
 * The scalarisation sees the values in hypercoil's feature order; `G` is
 * mapped back to X's natural column order through `batch.order`.
 *
 * @param batch The validated batch.
 * @param options The loss's resolved options.
 * @param wantN Whether to compute the gradient with respect to N too.
 * @param extras The context and argument names for messages.
 * @returns The value, the gradients in X's (and N's) layout, and the correlations.
 * @throws {TypeError} If the scalarisation has no `gradient` (a plain function).
 * @throws {RangeError} As `batchCorr`: non-finite values, or `tol` "auto" with B < 3;
 * or a gradient too large for float64 (data near float64's smallest values).
 */
export function lossValueAndGrad(
  batch: PreparedBatch,
  options: ResolvedLossOptions,
  wantN: boolean,
  extras: LossValueAndGradExtras = {},
): LossValueAndGrad {
  const context = extras.context ?? "compute the loss gradient";
  const names = extras.names ?? ["X", "N"];
  const { scalarisation } = options;
  if (typeof scalarisation.gradient !== "function") {
    throw new TypeError(
      ruleMessage(
        context,
        "options.scalarisation",
        'a Scalarisation with a gradient (a built-in name such as "mean", vnorm(p), or an object with gradient(values, out)) for valueAndGrad to differentiate it',
        scalarisation.name,
      ) + ", which has no gradient",
    );
  }
  const { count: B, features: F, confounds: M } = batch;
  const { result: correlations, raw, moments, kernel } = batchCorrPrepared(
    batch,
    options,
    context,
    names,
  );
  const value = options.nu * scalarisation.reduce(correlations.data);
  if (Number.isNaN(value)) {
    // No descent direction exists for an undefined loss; say so in every element.
    const gradX = new Float64Array(B * F).fill(Number.NaN);
    return wantN
      ? { value, gradX, gradN: new Float64Array(M * B).fill(Number.NaN), correlations }
      : { value, gradX, correlations };
  }

  const weights = new Float64Array(F * M);
  scalarisation.gradient(correlations.data, weights);
  const forward = { raw, moments, kernel, order: batch.order, tol: correlations.tol };
  const { gradX, gradN } = correlationPullback(forward, weights, options.abs, options.nu, {
    wantX: true,
    wantN,
  });
  assertFiniteGradient(gradX!, names[0], context);
  if (gradN) assertFiniteGradient(gradN, names[1], context);
  return gradN
    ? { value, gradX: gradX!, gradN, correlations }
    : { value, gradX: gradX!, correlations };
}

/** What the pullback of one batch's thresholded correlations reuses of its forward pass. */
export interface CorrelationForward {
  /** The correlations before thresholding, in hypercoil's feature order. */
  raw: Float64Array;
  /** The moments of `kernel`. */
  moments: BatchMoments;
  /** The batch the moments describe (the input, or its rescaled copy). */
  kernel: PreparedBatch | RescaledBatch;
  /** The input batch's `order` (hypercoil's feature order), or undefined. */
  order: Int32Array | undefined;
  /** The tolerance the correlations were thresholded with. */
  tol: number;
}

/**
 * The pullback of the thresholded correlations `T(r)`: from `∂L/∂T` to
 * `∂L/∂x` and `∂L/∂n`, as derived for {@linkcode lossValueAndGrad} (whose
 * `∂L/∂T` is `s'(T)`); a custom-gradient op passes its upstream gradient.
 *
 * @param forward The forward pass's correlations, moments and batch.
 * @param weights `∂L/∂T`, `(F, M)` in hypercoil's feature order; overwritten.
 * @param abs Whether the threshold dropped the sign.
 * @param nu The factor on every gradient.
 * @param want Which gradients to compute.
 * @returns `gradX`, row-major `(B, F)` in X's layout, and `gradN`, `(M, B)`, each undefined
 * unless asked for.
 */
export function correlationPullback(
  forward: CorrelationForward,
  weights: Float64Array,
  abs: boolean,
  nu: number,
  want: { wantX: boolean; wantN: boolean },
): { gradX: Float64Array | undefined; gradN: Float64Array | undefined } {
  const { raw, moments, kernel, order, tol } = forward;
  const M = moments.confounds;
  thresholdChainRule(weights, raw, tol, abs, nu);
  const scaled = order
    ? scaleWeights(unpermuteRows(weights, order, M), unpermuteRows(raw, order, M), moments)
    : scaleWeights(weights, raw, moments);
  const centre = centreOf(kernel, moments);
  const gradX = want.wantX ? featureGradient(kernel, centre, scaled) : undefined;
  const gradN = want.wantN ? confoundGradient(kernel, centre, scaled) : undefined;
  // The kernel's own key (a rescaled batch), never one only Object.prototype holds.
  if (Object.hasOwn(kernel, "scaleX")) undoRescaling(kernel as RescaledBatch, gradX, gradN);
  // Both keys own, even when undefined: a caller's destructuring never reaches Object.prototype.
  return { gradX, gradN };
}

/**
 * The gradient scales as 1 / (the data's scale): for values near the bottom
 * of float64 (about 1e-300 and below) its true magnitude can exceed 1.8e308.
 * Say so rather than return ±Infinity beside a finite value.
 */
function assertFiniteGradient(gradient: Float64Array, name: string, context: string): void {
  for (let i = 0; i < gradient.length; i++) {
    if (!Number.isFinite(gradient[i]!)) {
      throw new RangeError(
        `Cannot ${context} as every element of the gradient with respect to ${name} must be finite in float64: element ${i} is ${
          gradient[i]
        }, because the gradient scales as 1 / the scale of ${name} and ${name}'s values are too small; rescale ${name} (the correlations do not change)`,
      );
    }
  }
}

/**
 * A gradient taken on the rescaled batch `x' = x / scale` is `∂/∂x' = scale · ∂/∂x`;
 * divides it back out, in place.
 */
function undoRescaling(
  kernel: RescaledBatch,
  gradX: Float64Array | undefined,
  gradN: Float64Array | undefined,
): void {
  const { count: B, features: F, confounds: M, scaleX, scaleN } = kernel;
  if (gradX) {
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) gradX[b * F + f]! /= scaleX[f]!;
    }
  }
  if (!gradN) return;
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < B; b++) gradN[m * B + b]! /= scaleN[m]!;
  }
}

/**
 * Turns `∂s/∂T` into `G = nu · ∂s/∂T · T'(r)` in place. The threshold passes
 * the derivative only where `|r| > tol`; with `abs` it flips with the sign of r.
 */
function thresholdChainRule(
  weights: Float64Array,
  raw: Float64Array,
  tol: number,
  abs: boolean,
  nu: number,
): void {
  for (let i = 0; i < weights.length; i++) {
    const r = raw[i]!;
    // NaN fails the comparison too: a degenerate pair contributes nothing.
    if (!(Math.abs(r) > tol)) {
      weights[i] = 0;
      continue;
    }
    weights[i] = nu * weights[i]! * (abs ? Math.sign(r) : 1);
  }
}

/** `A`, `c` and `d` of the derivation. */
interface ScaledWeights {
  scaled: Float64Array;
  rowTerm: Float64Array;
  columnTerm: Float64Array;
}

/**
 * Scales `G` into `A_fm = G_fm / (sx_f sn_m)` and forms the per-feature and
 * per-confound terms `c_f = Σ_m G_fm r_fm / sx_f²` and
 * `d_m = Σ_f G_fm r_fm / sn_m²`. Pairs with a zero-variance side get 0.
 */
function scaleWeights(
  weights: Float64Array,
  raw: Float64Array,
  moments: BatchMoments,
): ScaledWeights {
  const { features: F, confounds: M, m2X, m2N } = moments;
  const scaled = new Float64Array(F * M);
  const rowTerm = new Float64Array(F);
  const columnTerm = new Float64Array(M);
  for (let f = 0; f < F; f++) {
    const sx = Math.sqrt(m2X[f]!);
    for (let m = 0; m < M; m++) {
      const i = f * M + m;
      const sn = Math.sqrt(m2N[m]!);
      const g = weights[i]!;
      if (g === 0 || sx === 0 || sn === 0) continue;
      const gr = g * raw[i]!;
      scaled[i] = g / (sx * sn);
      rowTerm[f]! += gr / m2X[f]!;
      columnTerm[m]! += gr / m2N[m]!;
    }
  }
  return { scaled, rowTerm, columnTerm };
}

/**
 * The means the gradient centres on, in double-double form (`hi + lo`, the
 * low parts of `fillLowParts`). For a column far from zero relative to its
 * spread (`1.7e9 + 0.001·noise`) the float64 mean alone is off by up to half
 * an ulp (1.2e-7 there), a visible share of every deviation `x − x̄`, and the
 * gradient inherited it (7e-5 relative); `(x − hi) − lo` is exact to rounding
 * of the deviation itself. Elsewhere the low parts are 0 and nothing changes.
 */
function centreOf(batch: PreparedBatch, moments: BatchMoments): BatchMoments & MeanLowParts {
  const lows = emptyPreciseMoments(moments.features, moments.confounds);
  return fillLowParts({ ...moments, meanXLo: lows.meanXLo, meanNLo: lows.meanNLo }, batch);
}

/** `∂L/∂x_bf = Σ_m A_fm ñ_bm − c_f x̃_bf`, row-major `(B, F)`. */
function featureGradient(
  batch: PreparedBatch,
  centre: BatchMoments & MeanLowParts,
  weights: ScaledWeights,
): Float64Array {
  const { count: B, features: F, confounds: M, x, n } = batch;
  const { meanX, meanN, meanXLo, meanNLo } = centre;
  const { scaled, rowTerm } = weights;
  const out = new Float64Array(B * F);
  const centredN = new Float64Array(M);
  for (let b = 0; b < B; b++) {
    for (let m = 0; m < M; m++) centredN[m] = (n[m * B + b]! - meanN[m]!) - meanNLo[m]!;
    const row = b * F;
    for (let f = 0; f < F; f++) {
      let total = 0;
      const base = f * M;
      for (let m = 0; m < M; m++) total += scaled[base + m]! * centredN[m]!;
      out[row + f] = total - rowTerm[f]! * ((x[row + f]! - meanX[f]!) - meanXLo[f]!);
    }
  }
  return out;
}

/** `∂L/∂n_mb = Σ_f A_fm x̃_bf − d_m ñ_bm`, row-major `(M, B)`. */
function confoundGradient(
  batch: PreparedBatch,
  centre: BatchMoments & MeanLowParts,
  weights: ScaledWeights,
): Float64Array {
  const { count: B, features: F, confounds: M, x, n } = batch;
  const { meanX, meanN, meanXLo, meanNLo } = centre;
  const { scaled, columnTerm } = weights;
  const out = new Float64Array(M * B);
  const total = new Float64Array(M);
  for (let b = 0; b < B; b++) {
    total.fill(0);
    const row = b * F;
    for (let f = 0; f < F; f++) {
      const centred = (x[row + f]! - meanX[f]!) - meanXLo[f]!;
      const base = f * M;
      for (let m = 0; m < M; m++) total[m]! += scaled[base + m]! * centred;
    }
    for (let m = 0; m < M; m++) {
      out[m * B + b] = total[m]! - columnTerm[m]! * ((n[m * B + b]! - meanN[m]!) - meanNLo[m]!);
    }
  }
  return out;
}
