/**
 * hypercoil's `auto_tol`: the correlation that a t-test calls significant.
 *
 * @module
 */

import { inverseBetaHalf } from "./_inverse_beta_half.ts";
import { ruleMessage } from "./errors.ts";

/**
 * The smallest absolute Pearson correlation that a t-test at `significance`
 * calls significant for `batchSize` samples, as hypercoil's `auto_tol`:
 * `t = StudentT.ppf(1 − significance / tails, batchSize − 2)`, then
 * `sqrt(t² / (batchSize − 2 + t²))`.
 *
 * The quantile is this library's own: with `ν = B − 2` degrees of freedom,
 * the two-sided tail `P(|T| > t) = I_x(ν/2, 1/2)` at `x = ν / (ν + t²)`, so
 * the tolerance is `√(1 − x)` where `x` inverts the regularized incomplete
 * beta function. It is solved by Newton's method on DiDonato and Morris's
 * continued fraction, with `1 − x` carried to full precision. Over the
 * fixture grid (batch sizes 3 to 1e7, significance 1e-8 to 0.999, one and two
 * tails) it is within 2.5e-15 relative of 40-digit values, and within 1e-13 of
 * scipy's `t.ppf` over batch sizes 3 to 1e9, fractional ones included.
 * Hypercoil forms the float64 level `1 − significance / tails`, and so does
 * this function while the upper tail is at least 2⁻³⁰ (about 9.3e-10). Below
 * that the level no longer holds the tail to 1e-7 (below about 1.1e-16 it
 * rounds to 1, where hypercoil's quantile is infinite and its tolerance NaN),
 * so the tolerance comes from the tail itself: every significance in (0, 1)
 * gives a number in [0, 1], reaching 1 (no correlation passes) only when the
 * tail is too deep for float64 to tell the tolerance from 1.
 *
 * @param batchSize Number of samples, an integer of at least 3 (B − 2 degrees of freedom).
 * @param significance Significance level in (0, 1).
 * @param tails 1 or 2.
 * @returns The tolerance, in (0, 1).
 * @throws {TypeError} If an argument is not a number.
 * @throws {RangeError} If `batchSize` is not an integer ≥ 3, `significance` is
 * outside (0, 1) or below 2⁻¹⁰²² (subnormal), or `tails` is neither 1 nor 2.
 *
 * @example Tolerance for a batch of 20 at the 10% level
 * ```ts
 * import { autoTol } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * assert.ok(Math.abs(autoTol(20) - 0.3783408610435194) < 1e-12);
 * ```
 */
export function autoTol(batchSize: number, significance: number = 0.1, tails: 1 | 2 = 2): number {
  const context = "compute autoTol";
  if (typeof batchSize !== "number") {
    throw new TypeError(ruleMessage(context, "batchSize", "a number", batchSize));
  }
  if (!Number.isInteger(batchSize) || batchSize < 3) {
    throw new RangeError(
      ruleMessage(
        context,
        "batchSize",
        'an integer of at least 3 (tol "auto" needs B − 2 ≥ 1 degrees of freedom)',
        batchSize,
      ),
    );
  }
  if (typeof significance !== "number") {
    throw new TypeError(ruleMessage(context, "significance", "a number", significance));
  }
  if (!(significance > 0 && significance < 1)) {
    throw new RangeError(
      ruleMessage(context, "significance", "in the open interval (0, 1)", significance),
    );
  }
  if (significance < MIN_SIGNIFICANCE) {
    throw new RangeError(ruleMessage(context, "significance", MIN_SIGNIFICANCE_RULE, significance));
  }
  if (typeof tails !== "number") {
    throw new TypeError(ruleMessage(context, "tails", "a number (1 or 2)", tails));
  }
  if (tails !== 1 && tails !== 2) {
    throw new RangeError(ruleMessage(context, "tails", "1 or 2", tails));
  }
  return autoTolUnchecked(batchSize, significance, tails);
}

/**
 * The smallest significance level `autoTol` takes: 2⁻¹⁰²², float64's smallest
 * normal number. A subnormal significance carries fewer than 53 significant
 * bits (5e-324 carries one), so it does not name a level precisely enough
 * for a tolerance.
 */
export const MIN_SIGNIFICANCE = 2 ** -1022;

/** The rule of {@linkcode MIN_SIGNIFICANCE}, in words, for messages. */
export const MIN_SIGNIFICANCE_RULE =
  "at least 2^-1022 (about 2.2e-308, float64's smallest normal number; a subnormal tail has too few digits for the t quantile)";

/** {@linkcode autoTol} without argument checks, for validated callers. */
export function autoTolUnchecked(
  batchSize: number,
  significance: number,
  tails: number = 2,
): number {
  // A stream asks for the same batch size's tolerance batch after batch.
  const key = `${batchSize} ${significance} ${tails}`;
  const known = recent.get(key);
  if (known !== undefined) return known;
  if (recent.size >= RECENT_LIMIT) recent.clear();
  const tolerance = computeTolerance(batchSize, significance, tails);
  recent.set(key, tolerance);
  return tolerance;
}

/** Tolerances computed lately, by batch size, significance and tails. */
const recent = new Map<string, number>();
const RECENT_LIMIT = 64;

function computeTolerance(batchSize: number, significance: number, tails: number): number {
  const tail = significance / tails;
  // Both tails' mass, 2·tail, formed without dividing, which could underflow to 0.
  const twoSided = tail < TINY_TAIL
    ? (tails === 1 ? 2 * significance : significance)
    : twoSidedMass(1 - tail);
  const df = batchSize - 2;
  if (df > NORMAL_DF) return toleranceBeyond(df, twoSided);
  const { x, y } = inverseBetaHalf(df / 2, twoSided);
  // √(1 − x) as 1 − x / (1 + √(1 − x)) where x is small: the rounding of 1 − x then only touches a correction.
  return x < 0.5 ? 1 - x / (1 + Math.sqrt(y)) : Math.sqrt(y);
}

/**
 * Degrees of freedom past which t is the normal distribution to float64: its
 * quantile moves by about z(z² + 1) / (4ν), below 1e-26 relative here for
 * every tail float64 holds (z under 40).
 */
const NORMAL_DF = 1e30;

/**
 * The tolerance for more than {@linkcode NORMAL_DF} degrees of freedom, from
 * the quantile at NORMAL_DF: `t² = ν'·y / x` there, then `√(t² / (ν + t²))`.
 * Solving at such ν directly would put `y = t² / ν` below float64's range.
 */
function toleranceBeyond(df: number, twoSided: number): number {
  const { x, y } = inverseBetaHalf(NORMAL_DF / 2, twoSided);
  // √(t² / ν) as a product of roots: t² / ν itself can be subnormal (ν near 1.8e308, t near 0).
  const root = Math.sqrt(NORMAL_DF / df) * Math.sqrt(y / x);
  return root / Math.sqrt(1 + root * root);
}

/**
 * The upper tail below which the float64 level `1 − tail` is too coarse
 * (its rounding, up to 2⁻⁵⁴, is more than 2⁻²⁴ of the tail).
 */
const TINY_TAIL = 2 ** -30;

/**
 * The two-sided mass `P(|T| > |t|)` of the t at a float64 level: twice the
 * smaller of the level and its complement, each exact (the complement of a
 * level of at least 1/2 is exact in float64).
 */
function twoSidedMass(level: number): number {
  return 2 * Math.min(level, 1 - level);
}

/**
 * Resolves `tol` for a sample count, as hypercoil: `"auto"` becomes
 * {@linkcode autoTol} of the count.
 *
 * @param tol A number or "auto".
 * @param tolSig The significance level.
 * @param count The (effective) number of samples.
 * @param context What was being done.
 * @returns The numeric tolerance.
 * @throws {RangeError} If `tol` is "auto" and the count is below 3.
 */
export function resolveTol(
  tol: number | "auto",
  tolSig: number,
  count: number,
  context: string,
): number {
  if (tol !== "auto") return tol;
  if (!(count >= 3)) {
    throw new RangeError(
      ruleMessage(
        context,
        'the batch size for tol "auto"',
        "at least 3 (B − 2 degrees of freedom for the t quantile)",
        count,
      ),
    );
  }
  return autoTolUnchecked(count, tolSig);
}
