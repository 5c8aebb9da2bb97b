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
  /** `1 / (sn_m sx_f)`, 0 where either is 0, `(M, F)`. */
  inverseDenominator: Tensor2D;
  /** `1 / sx²` (0 for a constant feature), `(F)`. */
  inverseSx2: Tensor1D;
  /** `1 / sn²` (0 for a constant confound), `(M, 1)`. */
  inverseSn2: Tensor2D;
  /** Pearson r, `(M, F)`; 0 (or NaN with `zeroVariance: "nan"`) for a zero-variance pair. */
  r: Tensor2D;
}

/** `1 / v` where `v > 0`, else 0. */
function safeInverse<T extends Tensor>(v: T): T {
  return tf.where(v.greater(0), v.reciprocal(), tf.zerosLike(v)) as T;
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
 * Divisions go through inverses that are 0 for a zero-variance side, so no
 * NaN arises where hypercoil's 0/0 would be (the library's 0).
 */
function moments(x: Tensor2D, n: Tensor2D, zeroVariance: "zero" | "nan"): Moments {
  const [count, features] = x.shape;
  const confounds = n.shape[0];
  const d = x.sub(firstRow(x)) as Tensor2D;
  const nT = n.transpose() as Tensor2D;
  const shiftedN = nT.sub(firstRow(nT)) as Tensor2D;
  const onceN = shiftedN.sub(shiftedN.mean(0));
  const nc = onceN.sub(onceN.mean(0)) as Tensor2D;
  const weights = tf.concat([tf.fill([1, count], 1 / count), nc.transpose()], 0);
  const sums = tf.matMul(weights, d); // (M + 1, F)
  const meanX = sums.slice([0, 0], [1, features]).reshape([features]);
  const comoment = sums.slice([1, 0], [confounds, features]);
  const xc = d.sub(meanX) as Tensor2D;
  const inverseSx2 = safeInverse(columnSums(xc.square() as Tensor2D));
  const inverseSn2 = safeInverse(nc.square().sum(0).reshape([-1, 1]) as Tensor2D);
  const inverseDenominator = tf.outerProduct(
    inverseSn2.reshape([-1]).sqrt() as Tensor1D,
    inverseSx2.sqrt(),
  );
  let r = comoment.mul(inverseDenominator) as Tensor2D;
  if (zeroVariance === "nan") {
    r = tf.where(inverseDenominator.equal(0), tf.fill(r.shape, Number.NaN), r) as Tensor2D;
  }
  return { xc, nc, inverseDenominator, inverseSx2, inverseSn2, r };
}

function thresholded(r: Tensor2D, settings: CorrelationOpSettings): Tensor2D {
  const shrunk = tf.relu(r.abs().sub(settings.tol));
  const value = settings.abs ? shrunk : r.sign().mul(shrunk);
  // relu of NaN is NaN on some backends and 0 on others: state hypercoil's NaN.
  return (settings.zeroVariance === "nan" ? tf.where(r.isNaN(), r, value) : value) as Tensor2D;
}

/**
 * What the gradients need, all but `dy`: with `T'(r)` the threshold's
 * derivative (0 where `|r| ≤ tol` or r is NaN, `sign(r)` with `abs`, else
 * 1), `A = dy ⊙ T'/(sx ⊗ sn)` and `G ⊙ r = dy ⊙ T'·r`, so each backward pass
 * is a handful of ops on top of one product.
 */
interface GradientParts {
  /** `x̃`, `(B, F)`. */
  xc: Tensor2D;
  /** `ñ`, `(B, M)`. */
  nc: Tensor2D;
  /** `T'(r) / (sn_m sx_f)`, `(M, F)`. */
  weightA: Tensor2D;
  /** `T'(r) · r`, `(M, F)`. */
  weightR: Tensor2D;
  /** `1 / sx²` (0 for a constant feature), `(F)`. */
  inverseSx2: Tensor1D;
  /** `1 / sn²` (0 for a constant confound), `(M, 1)`. */
  inverseSn2: Tensor2D;
  /** NaN if any r is NaN, else 0 (only with `zeroVariance: "nan"`: the gradient is NaN with the value). */
  poison?: Tensor;
}

function gradientParts(m: Moments, settings: CorrelationOpSettings): GradientParts {
  const active = m.r.abs().greater(settings.tol).toFloat();
  const derivative = settings.abs ? m.r.sign().mul(active) : active;
  return {
    xc: m.xc,
    nc: m.nc,
    weightA: derivative.mul(m.inverseDenominator) as Tensor2D,
    weightR: derivative.mul(m.r) as Tensor2D,
    inverseSx2: m.inverseSx2,
    inverseSn2: m.inverseSn2,
    ...(settings.zeroVariance === "nan" ? { poison: m.r.mul(0).sum() } : {}),
  };
}

type PartName = keyof GradientParts;
/** What each node keeps for its gradient (each kept tensor costs a copy on the wasm backend). */
const X_PARTS: readonly PartName[] = ["xc", "nc", "weightA", "weightR", "inverseSx2", "poison"];
const N_PARTS: readonly PartName[] = ["xc", "nc", "weightA", "weightR", "inverseSn2", "poison"];

function pick(parts: GradientParts, names: readonly PartName[]): Tensor[] {
  return names.flatMap((name) => (parts[name] ? [parts[name]] : []));
}

function unpack(saved: Tensor[], names: readonly PartName[]): GradientParts {
  return Object.fromEntries(
    names.slice(0, saved.length).map((name, i) => [name, saved[i]]),
  ) as unknown as GradientParts;
}

function withNaNs(gradient: Tensor2D, parts: GradientParts): Tensor2D {
  return parts.poison ? gradient.add(parts.poison) : gradient;
}

/** `∂L/∂x_bf = Σ_m A_mf ñ_bm − c_f x̃_bf`, `c_f = Σ_m G_mf r_mf / sx_f²`. */
function featureGradient(dy: Tensor2D, parts: GradientParts): Tensor2D {
  const dyT = dy.transpose();
  const scaled = dyT.mul(parts.weightA) as Tensor2D;
  const rowTerm = dyT.mul(parts.weightR).sum(0).mul(parts.inverseSx2);
  return withNaNs(
    tf.matMul(parts.nc, scaled).sub(parts.xc.mul(rowTerm)) as Tensor2D,
    parts,
  );
}

/** `∂L/∂n_mb = Σ_f A_mf x̃_bf − d_m ñ_bm`, `d_m = Σ_f G_mf r_mf / sn_m²`, as `(M, B)`. */
function confoundGradient(dy: Tensor2D, parts: GradientParts): Tensor2D {
  const dyT = dy.transpose();
  const scaled = dyT.mul(parts.weightA) as Tensor2D;
  const columnTerm = dyT.mul(parts.weightR).sum(1, true).mul(parts.inverseSn2);
  // x̃ (B, F) · Aᵀ (F, M), transposing only the small side (the wasm backend's
  // transposed product is several times slower).
  const gradient = tf.matMul(parts.xc, scaled.transpose()).transpose().sub(
    columnTerm.mul(parts.nc.transpose()),
  );
  return withNaNs(gradient as Tensor2D, parts);
}

/**
 * The thresholded correlations `(F, M)` of x `(B, F)` with n `(M, B)` in x's
 * natural column order, differentiable with respect to both.
 *
 * The output passes through two custom-gradient nodes, one with x as input
 * and one with n, whose gradients are the closed form of `src/gradient.ts`
 * with `dy = ∂L/∂T` in place of the scalarisation's derivative.
 * TensorFlow.js evaluates a custom gradient eagerly for every input of its
 * node, so one node per input lets the tape skip the confounds' gradient when
 * n is a constant, as it is when only the model is trained. The forward pass
 * runs once, inside the first node, where the tape is off: none of its ops
 * is recorded, so none keeps a copy of its inputs for autodiff (the wasm
 * backend copies every tensor it keeps). Call inside `tf.tidy`.
 *
 * @param x Features, float32 `(B, F)`.
 * @param n Confounds, float32 `(M, B)`.
 * @param settings Tolerance, sign and zero-variance policy.
 * @returns `(F, M)` thresholded correlations.
 */
export function correlationOp(x: Tensor2D, n: Tensor2D, settings: CorrelationOpSettings): Tensor2D {
  let parts: GradientParts | undefined;
  let value: Tensor2D | undefined;
  const throughX = tf.customGrad((input, save) => {
    const m = moments(input as Tensor2D, n, settings.zeroVariance);
    value = tf.keep(thresholded(m.r, settings).transpose() as Tensor2D);
    parts = gradientParts(m, settings);
    for (const tensor of pick(parts, [...new Set([...X_PARTS, ...N_PARTS])])) tf.keep(tensor);
    (save as GradSaveFunc)(pick(parts, X_PARTS));
    return {
      value: value.clone(),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        featureGradient(dy as Tensor2D, unpack(saved, X_PARTS)),
    };
  });
  const throughN = tf.customGrad((_n, save) => {
    (save as GradSaveFunc)(pick(parts!, N_PARTS));
    return {
      value: tf.zerosLike(value!),
      gradFunc: (dy: Tensor, saved: Tensor[]) =>
        confoundGradient(dy as Tensor2D, unpack(saved, N_PARTS)),
    };
  });
  try {
    return (throughX(x) as Tensor2D).add(throughN(n) as Tensor2D);
  } finally {
    // The nodes hold their own copies (saved only while a gradient is recorded).
    tf.dispose([
      ...(value ? [value] : []),
      ...(parts ? pick(parts, [...new Set([...X_PARTS, ...N_PARTS])]) : []),
    ]);
  }
}
