/**
 * The inverse of the regularized incomplete beta function `I_x(a, 1/2)`, the
 * one behind the Student t distribution's two-sided tail:
 * `P(|T| > t) = I_x(ν/2, 1/2)` at `x = ν / (ν + t²)`. It returns `x` and
 * `y = 1 − x` each to full relative precision, so that a tolerance
 * `√(t² / (ν + t²)) = √y` never goes through `1 − x`.
 *
 * `I` itself comes from DiDonato and Morris's continued fraction, on
 * whichever of `I_x(a, b)` and `I_y(b, a)` converges; `B(a, 1/2)` from the ratio
 * `Γ(a + 1/2) / Γ(a)` by Stirling's series, shifted up for small `a`. The
 * root is found in `w = ln(x / y)`, where both tails of the logarithm of the
 * tail mass are nearly straight lines, then polished in the smaller of `x`
 * and `y` itself, whose float64 spacing is finer than that of its logarithm.
 * Logarithms and exponentials are this library's own (`_portable_math.ts`),
 * so the result has the same bits in Deno and in Bun.
 *
 * @module
 */

import * as portable from "./_portable_math.ts";

const B = 0.5;
const EPSILON = 2 ** -53;
const TINY = 1e-300;
/** `ln √π`, part of `ln B(a, 1/2) = ln √π − ln(Γ(a + 1/2) / Γ(a))`. */
const LN_SQRT_PI = 0.5723649429247001;
/** Where Stirling's series is used directly: its terms past z⁻⁹ are then below 1e-17. */
const STIRLING_FROM = 30;
/**
 * The bracket of `w`: at `x = e^-42` (below 2^-60), `√(1 − x)` rounds to 1,
 * so the tolerance is 1 wherever the root lies lower; `y = e^-200` (1.4e-87)
 * is below any root `autoTol` asks for (the smallest, at ν = 1e30 with the
 * two-sided tail 1 − 2^-53, is about 2e-62).
 */
const W_LOW = -42;
const W_HIGH = 200;

/** Stirling's series of `ln Γ(z)` less its leading terms, for z ≥ 30. */
function stirlingTail(z: number): number {
  const r = 1 / z;
  const r2 = r * r;
  return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))));
}

/**
 * `ln(Γ(a + 1/2) / Γ(a)) − ln(a) / 2` for a > 0: Stirling's series at
 * `a + n ≥ 30`, brought down by `Γ(z + 1) = z Γ(z)`. The `ln(a) / 2` is left
 * out because it cancels against the `ln(y) / 2` of the tail's prefactor,
 * where the two are joined as `ln(a·y) / 2` without losing digits.
 */
export function lnGammaHalfRatioRest(a: number): number {
  let shift = 0;
  let z = a;
  while (z < STIRLING_FROM) {
    shift += portable.log(z / (z + B));
    z += 1;
  }
  // z·ln(1 + u) − 1/2 with u = 1/(2z), as ½·Σ_{k≥2} (−1)^{k+1} u^{k−1} / k, free of cancellation.
  const u = 1 / (2 * z);
  let series = 0;
  let power = u;
  for (let k = 2; k <= 16; k++) {
    series += (k % 2 === 0 ? -power : power) / k;
    power *= u;
  }
  const moved = z === a ? 0 : shift + 0.5 * portable.log(z / a);
  return moved + 0.5 * series + stirlingTail(z + B) - stirlingTail(z);
}

/**
 * DiDonato and Morris's continued fraction for `I_x(a, b)` (BFRAC, ACM TOMS
 * 708): `I_x(a, b) = x^a y^b / B(a, b) / F`. It is written with `y = 1 − x`
 * where `x` is near 1, so it keeps its digits there, where the classic
 * fraction loses about `log10 a` of them to cancellation. Its length comes
 * from a forward (modified Lentz) pass; its value from the backward
 * recurrence over twice that many terms, whose rounding errors do not pile
 * up as the forward pass's do (about 4e-15 at a = 5e5, against 1e-16).
 */
function betaFraction(a: number, b: number, x: number, y: number): number {
  const numerator = (m: number) => {
    const width = a + 2 * m - 1;
    return (a + m - 1) * (a + b + m - 1) * m * (b - m) * x * x / (width * width);
  };
  const denominator = (m: number) =>
    m === 0
      ? a * (a * y - b * x + 1) / (a + 1) // its first part is 0 / 0 at a = 1
      : m + m * (b - m) * x / (a + 2 * m - 1) +
        (a + m) * (a * y - b * x + 1 + m * (2 - x)) / (a + 2 * m + 1);
  const terms = 2 * lentzLength(numerator, denominator, a, b) + 10;
  let value = denominator(terms);
  for (let m = terms - 1; m >= 0; m--) value = denominator(m) + numerator(m + 1) / value;
  return value;
}

/** The terms a continued fraction `b0 + a1 / (b1 + a2 / (b2 + …))` needs to settle to float64. */
function lentzLength(
  numerator: (m: number) => number,
  denominator: (m: number) => number,
  a: number,
  b: number,
): number {
  let f = denominator(0);
  if (f === 0) f = TINY;
  let c = f;
  let d = 0;
  // Where it settles at all it takes a few hundred terms at most; the cap keeps a bad case from hanging.
  const limit = Math.min(100_000, 1000 + Math.ceil(50 * Math.sqrt(Math.max(a, b))));
  for (let m = 1; m <= limit; m++) {
    const am = numerator(m);
    const bm = denominator(m);
    d = bm + am * d;
    if (d === 0) d = TINY;
    c = bm + am / c;
    if (c === 0) c = TINY;
    d = 1 / d;
    const step = c * d;
    f *= step;
    if (Math.abs(step - 1) <= EPSILON) return m;
  }
  return limit;
}

/** `I_x(a, 1/2)` and its complement at one point, with what Newton's method needs. */
interface TailPoint {
  /** ln I_x(a, 1/2). */
  lnLower: number;
  /** ln(1 − I_x(a, 1/2)) = ln I_y(1/2, a). */
  lnUpper: number;
  /** ln(x^a y^(1/2) / B(a, 1/2)), the derivative of I with respect to ln(x / y). */
  lnSlope: number;
}

function tailPoint(
  a: number,
  rest: number,
  x: number,
  y: number,
  lnX: number,
): TailPoint {
  // ln(x^a y^(1/2) / B(a, 1/2)) with ln B(a, 1/2) = ln √π − ln(a) / 2 − rest.
  const lnSlope = a * lnX + 0.5 * portable.log(a * y) + rest - LN_SQRT_PI;
  // Each side's fraction where it converges; the other side by difference, which then keeps its digits.
  // In logarithms, so that a tail far below float64's range still has a slope to follow.
  // x < (a + 1) / (a + b + 2), asked of y, which keeps its digits where x rounds to 1 (a past 1e16).
  if (y > (B + 1) / (a + B + 2)) {
    const lnLower = lnSlope - portable.log(betaFraction(a, B, x, y));
    return { lnLower, lnUpper: portable.log1p(-portable.exp(lnLower)), lnSlope };
  }
  const lnUpper = lnSlope - portable.log(betaFraction(B, a, y, x));
  return { lnLower: portable.log1p(-portable.exp(lnUpper)), lnUpper, lnSlope };
}

/**
 * Solves `I_x(a, 1/2) = p` for `p` in (0, 1].
 *
 * @param a The first shape, `ν / 2` (any positive number).
 * @param p The lower tail of `I`, the two-sided tail mass of t.
 * @returns `x` and `y = 1 − x`, each to full relative precision; `x = 0` where
 * the root is below 2^-60 (so that `√y` rounds to 1).
 */
export function inverseBetaHalf(a: number, p: number): { x: number; y: number } {
  if (p >= 1) return { x: 1, y: 0 };
  const rest = lnGammaHalfRatioRest(a);
  // h(w) rises with w in both forms: ln I − ln p where p is small, ln(1 − p) − ln(1 − I) where 1 − p is.
  const lowerSide = p <= 0.5;
  const lnTarget = lowerSide ? portable.log(p) : portable.log1p(-p);
  const residual = (point: TailPoint) =>
    lowerSide ? point.lnLower - lnTarget : lnTarget - point.lnUpper;
  const derivative = (point: TailPoint) =>
    portable.exp(point.lnSlope - (lowerSide ? point.lnLower : point.lnUpper));
  const atW = (w: number) => {
    const lnX = -softplus(-w);
    const lnY = -softplus(w);
    return tailPoint(a, rest, portable.exp(lnX), portable.exp(lnY), lnX);
  };
  if (residual(atW(W_LOW)) >= 0) return { x: 0, y: 1 };
  let low = W_LOW;
  let high = W_HIGH;
  const lnBeta = LN_SQRT_PI - 0.5 * portable.log(a) - rest;
  let w = clamp(initialW(a, lnBeta, lowerSide, lnTarget, p), low, high);
  for (let i = 0; i < 200; i++) {
    const point = atW(w);
    const h = residual(point);
    if (h === 0) break;
    if (h < 0) low = w;
    else high = w;
    const delta = h / derivative(point);
    // Newton converges quadratically: from 1e-7 in w, two polishing steps reach the last bit.
    // (A step below w's spacing would otherwise look like leaving the bracket.)
    if (Math.abs(delta) < 1e-7) {
      w -= delta;
      break;
    }
    let next = w - delta;
    if (!(next > low && next < high)) next = (low + high) / 2;
    w = next;
    if (high - low < 1e-9) break;
  }
  return polish(a, rest, w, residual, derivative);
}

/**
 * A few Newton steps in the smaller of x and y, represented directly:
 * `dx/dw = x·y = −dy/dw`.
 */
function polish(
  a: number,
  rest: number,
  w: number,
  residual: (point: TailPoint) => number,
  derivative: (point: TailPoint) => number,
): { x: number; y: number } {
  const smallX = w <= 0;
  let v = smallX ? portable.exp(-softplus(-w)) : portable.exp(-softplus(w));
  for (let i = 0; i < 4; i++) {
    const other = 1 - v;
    // tailPoint takes ln x: ln v where v is x, ln(1 − v) where v is y.
    const point = smallX
      ? tailPoint(a, rest, v, other, portable.log(v))
      : tailPoint(a, rest, other, v, portable.log1p(-v));
    const dw = -residual(point) / derivative(point);
    const next = v + (smallX ? 1 : -1) * v * other * dw;
    if (!(next > 0 && next < 1)) break;
    const settled = Math.abs(next - v) <= 4 * EPSILON * v;
    v = next;
    if (settled) break;
  }
  return smallX ? { x: v, y: 1 - v } : { x: 1 - v, y: v };
}

/**
 * A start for w. Where t² is small next to ν (the usual case), from t by the
 * Cornish-Fisher expansion around the normal quantile, `w = ln(ν / t²)`;
 * elsewhere from either tail's leading term (`I ≈ x^a / (a B)` for the lower
 * side, `1 − I ≈ 2 y^(1/2) / B` for the upper).
 */
function initialW(a: number, lnBeta: number, lowerSide: boolean, lnTarget: number, p: number) {
  const nu = 2 * a;
  const z = normalUpperQuantile(p / 2);
  if (lowerSide && z * z < nu) {
    const z2 = z * z;
    const t = z + z * (z2 + 1) / (4 * nu) + z * ((5 * z2 + 16) * z2 + 3) / (96 * nu * nu);
    return portable.log(nu / (t * t));
  }
  if (lowerSide) return (lnTarget + lnBeta + portable.log(a)) / a;
  return -2 * (lnTarget + lnBeta + portable.log(B));
}

/**
 * The normal distribution's upper quantile for a tail q in (0, 1/2], to about
 * 4.5e-4 (Abramowitz and Stegun 26.2.23): a start, which Newton's method then
 * makes exact.
 */
function normalUpperQuantile(q: number): number {
  const t = Math.sqrt(-2 * portable.log(q));
  return t - (2.515517 + t * (0.802853 + t * 0.010328)) /
      (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
}

/** ln(1 + e^w) without overflow. */
function softplus(w: number): number {
  return w > 0 ? w + portable.log1p(portable.exp(-w)) : portable.log1p(portable.exp(w));
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, Number.isFinite(value) ? value : 0));
}
