/**
 * The differentiable core of the TensorFlow.js loss: hypercoil's thresholded
 * batch correlations of a `(B, F)` feature matrix with `(M, B)` confounds, in
 * tf ops, with the closed-form gradient of `src/gradient.ts` as custom
 * gradients.
 *
 * Every pass over the `(B, F)` data is an elementwise op with a rank-1
 * operand or a matrix product whose large operand is not transposed: a
 * reduction over the batch axis (`sum(0)`, `mean(0)`) or a transposed
 * product makes the cpu and wasm backends transpose all of `B·F` first,
 * which costs more than the whole closed-form gradient. Column sums are
 * therefore products with a row of ones, and the small `(F, M)` side is kept
 * as `(M, F)`.
 *
 * @module
 */

import type { GradSaveFunc, Tensor, Tensor1D, Tensor2D } from "@tensorflow/tfjs";
import { tf } from "./_tfjs.ts";

/** How the correlations are thresholded and what a zero-variance pair gives. */
export interface CorrelationOpSettings {
  /** The tolerance (already resolved from "auto"). */
  tol: number;
  /** Drop the sign (`max(|r| − tol, 0)`) or keep it. */
  abs: boolean;
  /** A pair with a zero-variance side is 0 ("zero") or NaN ("nan"). */
  zeroVariance: "zero" | "nan";
}

/** `Σ_b a_bf` as `(F)`: a product with a row of ones, not a transpose and a reduction. */
function columnSums(a: Tensor2D): Tensor1D {
  const [rows, columns] = a.shape;
  return tf.matMul(tf.ones([1, rows]), a).reshape([columns]) as Tensor1D;
}

/** The first row of `a` as `(columns)`; `gather`, as the wasm backend's `slice` copies all of `a`. */
function firstRow(a: Tensor2D): Tensor1D {
  return tf.gather(a, tf.tensor1d([0], "int32")).reshape([a.shape[1]]) as Tensor1D;
}

/** What the forward pass computes and the gradients reuse. */
interface Moments {
  /** Centred features `x̃`, `(B, F)`. */
  xc: Tensor2D;
  /** Centred confounds `ñ`, `(B, M)`. */
  nc: Tensor2D;
  /** `Σ_b x̃²`, `(F)`. */
  sx2: Tensor1D;
  /** `Σ_b ñ²`, `(M, 1)`. */
  sn2: Tensor2D;
  /** `sx_f · sn_m`, `(M, F)`. */
  denominator: Tensor2D;
  /** Pearson r, `(M, F)`; 0 (or NaN) where the denominator is 0. */
  r: Tensor2D;
}

/**
 * The centred data, sums of squares and correlations, with two products over
 * the batch.
 *
 * Every column is first shifted by its own first value: that difference is
 * exact in float32 for values within a factor 2 of it (Sterbenz), so data far
 * from zero (1e6 + noise) keeps the digits a float32 mean of the raw values
 * would lose, and an exactly constant column becomes exactly 0 (zero
 * variance), whatever the backend's summation order. One product
 * `[1/B; ñᵀ] · d` of the shifted features `d` then gives both their means and
 * the co-moments `C = ñᵀ x̃ = ñᵀ d` (equal because `Σ_b ñ_bm = 0`; ñ is centred
 * twice, on its small `(B, M)` side, so that its float32 sums are at rounding
 * level). The sums of squares come from the centred `x̃ = d − d̄`, never from
 * `Σd² − B·d̄²`, which loses digits when the first row is an outlier.
 */
function moments(x: Tensor2D, n: Tensor2D, zeroVariance: "zero" | "nan"): Moments {
  const [count, features] = x.shape;
  const confounds = n.shape[0];
  const d = x.sub(firstRow(x)) as Tensor2D;
  const shiftedN = n.transpose().sub(firstRow(n.transpose() as Tensor2D)) as Tensor2D;
  const onceN = shiftedN.sub(shiftedN.mean(0));
  const nc = onceN.sub(onceN.mean(0)) as Tensor2D;
  const weights = tf.concat([tf.fill([1, count], 1 / count), nc.transpose()], 0);
  const sums = tf.matMul(weights, d); // (M + 1, F)
  const meanX = sums.slice([0, 0], [1, features]).reshape([features]);
  const comoment = sums.slice([1, 0], [confounds, features]);
  const xc = d.sub(meanX) as Tensor2D;
  const sx2 = columnSums(xc.square() as Tensor2D);
  const sn2 = nc.square().sum(0).reshape([-1, 1]) as Tensor2D;
  const denominator = tf.outerProduct(sn2.reshape([-1]).sqrt() as Tensor1D, sx2.sqrt());
  const degenerate = tf.fill(denominator.shape, zeroVariance === "nan" ? Number.NaN : 0);
  const r = tf.where(denominator.greater(0), comoment.div(denominator), degenerate) as Tensor2D;
  return { xc, nc, sx2, sn2, denominator, r };
}

function thresholded(r: Tensor2D, settings: CorrelationOpSettings): Tensor2D {
  const shrunk = tf.relu(r.abs().sub(settings.tol));
  const value = settings.abs ? shrunk : r.sign().mul(shrunk);
  // relu of NaN is NaN on some backends and 0 on others: state hypercoil's NaN.
  return (settings.zeroVariance === "nan" ? tf.where(r.isNaN(), r, value) : value) as Tensor2D;
}

/**
 * `A_mf = G_mf / (sx_f sn_m)` and `G_mf r_mf`, with `G = dy · T'(r)`: 0 where
 * `|r| ≤ tol` (and where r is NaN), `sign(r)` with `abs`, 1 without.
 */
function scaledWeights(
  dyT: Tensor2D,
  r: Tensor2D,
  denominator: Tensor2D,
  settings: CorrelationOpSettings,
) {
  const active = r.abs().greater(settings.tol);
  const zeros = tf.zerosLike(dyT);
  const g = tf.where(active, settings.abs ? dyT.mul(r.sign()) : dyT, zeros);
  const scaled = tf.where(active, g.div(denominator), zeros) as Tensor2D;
  return { scaled, gr: g.mul(tf.where(active, r, zeros)) as Tensor2D };
}

/** `v / s` where `s > 0`, else 0 (a zero-variance side has no active pair). */
function safeDivide<T extends Tensor>(v: T, s: T): T {
  return tf.where(s.greater(0), v.div(s), tf.zerosLike(v)) as T;
}

/**
 * With `zeroVariance: "nan"`, NaN when any correlation is NaN, else 0: added
 * to a gradient, it makes every element NaN with the value, as the float64 core.
 */
function withNaNs(gradient: Tensor2D, r: Tensor2D, settings: CorrelationOpSettings): Tensor2D {
  return settings.zeroVariance === "nan" ? gradient.add(r.mul(0).sum()) : gradient;
}

type Saved = [Tensor2D, Tensor2D, Tensor1D, Tensor2D, Tensor2D, Tensor2D];

/** `∂L/∂x_bf = Σ_m A_mf ñ_bm − c_f x̃_bf`, `c_f = Σ_m G_mf r_mf / sx_f²`. */
function featureGradient(dy: Tensor2D, saved: Tensor[], settings: CorrelationOpSettings): Tensor2D {
  const [xc, nc, sx2, , denominator, r] = saved as Saved;
  const { scaled, gr } = scaledWeights(dy.transpose(), r, denominator, settings);
  const rowTerm = safeDivide(gr.sum(0) as Tensor1D, sx2);
  return withNaNs(tf.matMul(nc, scaled).sub(xc.mul(rowTerm)) as Tensor2D, r, settings);
}

/** `∂L/∂n_mb = Σ_f A_mf x̃_bf − d_m ñ_bm`, `d_m = Σ_f G_mf r_mf / sn_m²`, as `(M, B)`. */
function confoundGradient(
  dy: Tensor2D,
  saved: Tensor[],
  settings: CorrelationOpSettings,
): Tensor2D {
  const [xc, nc, , sn2, denominator, r] = saved as Saved;
  const { scaled, gr } = scaledWeights(dy.transpose(), r, denominator, settings);
  const columnTerm = safeDivide(gr.sum(1, true) as Tensor2D, sn2);
  // x̃ (B, F) · Aᵀ (F, M): the large operand stays untransposed.
  const gradient = tf.matMul(xc, scaled, false, true).transpose().sub(
    columnTerm.mul(nc.transpose()),
  );
  return withNaNs(gradient as Tensor2D, r, settings);
}

/**
 * The thresholded correlations `(F, M)` of x `(B, F)` with n `(M, B)` in x's
 * natural column order, differentiable with respect to both.
 *
 * The forward pass runs once, in plain ops. Its output then passes through
 * two custom-gradient nodes, one with x as input and one with n, whose
 * gradients are the closed form of `src/gradient.ts` with `dy = ∂L/∂T` in
 * place of the scalarisation's derivative. TensorFlow.js evaluates a custom
 * gradient eagerly for every input of its node, so one node per input lets
 * the tape skip the confounds' gradient when n is a constant, as it is when
 * only the model is trained. The plain forward ops lead nowhere on the tape
 * (their results reach the output only through the nodes' closures), so the
 * tape prunes them: no autodiff runs through them. Call inside `tf.tidy`.
 *
 * @param x Features, float32 `(B, F)`.
 * @param n Confounds, float32 `(M, B)`.
 * @param settings Tolerance, sign and zero-variance policy.
 * @returns `(F, M)` thresholded correlations.
 */
export function correlationOp(x: Tensor2D, n: Tensor2D, settings: CorrelationOpSettings): Tensor2D {
  const m = moments(x, n, settings.zeroVariance);
  const value = thresholded(m.r, settings).transpose() as Tensor2D;
  const kept = [m.xc, m.nc, m.sx2, m.sn2, m.denominator, m.r];
  const throughX = tf.customGrad((_x, save) => {
    (save as GradSaveFunc)(kept);
    return {
      value: value.clone(),
      gradFunc: (dy: Tensor, saved: Tensor[]) => featureGradient(dy as Tensor2D, saved, settings),
    };
  });
  const throughN = tf.customGrad((_n, save) => {
    (save as GradSaveFunc)(kept);
    return {
      value: tf.zerosLike(value),
      gradFunc: (dy: Tensor, saved: Tensor[]) => confoundGradient(dy as Tensor2D, saved, settings),
    };
  });
  return (throughX(x) as Tensor2D).add(throughN(n) as Tensor2D);
}
