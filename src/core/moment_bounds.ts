/**
 * The bounds every moment state obeys, checked wherever a state comes from
 * outside the kernels (a snapshot, `updateMoments`, a backend): the
 * Cauchy–Schwarz bound of each co-moment and the largest exact count.
 *
 * @module
 */

import type { BatchMoments } from "./batch_moments.ts";

/**
 * The largest count a state may hold: 2⁵³ − 1. Beyond it `count + 1` rounds
 * back to `count`, so samples would be lost without a trace and the merge
 * weights `nB / n` would drift.
 */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * The relative slack of the bound on states this library computes in float64:
 * a merged co-moment carries the rounding of every merge behind it.
 */
export const FLOAT64_BOUND_SLACK = 1e-9;

/**
 * The relative slack of the bound on a backend's moments, which may be
 * computed in float32 (ONNX Runtime): a sanity bound that refuses impossible
 * moments (|r| well above 1, a co-moment beside a zero variance), not rounding.
 */
export const BACKEND_BOUND_SLACK = 1e-3;

/**
 * Added to each sum of squares inside the bound (float64's smallest normal
 * number, 2⁻¹⁰²²): a state whose sum of squares underflowed to a subnormal or
 * to 0 may hold a co-moment of about `√2⁻¹⁰²² · √M2n`, which no later update
 * can turn into a visible correlation; a larger one can only be corruption.
 * Without it a zero sum of squares would allow any co-moment at all.
 */
export const BOUND_FLOOR = 2 ** -1022;

/** A co-moment beyond its bound: where, its value and the bound. */
export interface BoundViolation {
  /** Its index in the row-major `(F, M)` co-moment. */
  index: number;
  /** The co-moment. */
  comoment: number;
  /** `√(M2x + floor) · √(M2n + floor)` before the slack. */
  bound: number;
}

/**
 * The first co-moment that no data could produce. Cauchy–Schwarz gives
 * `|C_fm| ≤ √M2x_f · √M2n_m` (so |r| ≤ 1); the check allows a relative
 * `slack` for rounding and {@linkcode BOUND_FLOOR} for underflow, and it holds
 * when either sum of squares is 0 as well: then the co-moment must be
 * (nearly) 0 too, since a later update would otherwise turn it into a
 * correlation of any size.
 *
 * @param moments The state (finite values, non-negative sums of squares).
 * @param slack The relative slack ({@linkcode FLOAT64_BOUND_SLACK} for this library's states).
 * @returns The first violation in row-major order, or undefined.
 */
export function cauchySchwarzViolation(
  moments: Pick<BatchMoments, "features" | "confounds" | "m2X" | "m2N" | "comoment">,
  slack: number,
): BoundViolation | undefined {
  const { features: F, confounds: M, m2X, m2N, comoment } = moments;
  const scale = 1 + slack;
  for (let f = 0; f < F; f++) {
    const sx = Math.sqrt(m2X[f]! + BOUND_FLOOR);
    for (let m = 0; m < M; m++) {
      const bound = sx * Math.sqrt(m2N[m]! + BOUND_FLOOR);
      const c = comoment[f * M + m]!;
      // Written so that NaN fails too.
      if (!(Math.abs(c) <= bound * scale)) return { index: f * M + m, comoment: c, bound };
    }
  }
  return undefined;
}

/** The rule {@linkcode cauchySchwarzViolation} checks, in words, for messages. */
export const CAUCHY_SCHWARZ_RULE = "|comoment| ≤ √m2X·√m2N (a correlation within [-1, 1])";

/**
 * A violation as messages show it.
 *
 * @param violation The violation.
 * @returns `"<c> at index <i>, with bound <b>"`.
 */
export function violationText(violation: BoundViolation): string {
  return `${violation.comoment} at index ${violation.index}, with bound ${violation.bound}`;
}
