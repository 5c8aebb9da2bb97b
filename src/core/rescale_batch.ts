/**
 * Power-of-two rescaling of a batch whose squares leave float64's range:
 * exact, and correlations are scale-invariant.
 *
 * @module
 */

import type { PreparedBatch } from "./prepare_batch.ts";

/** The power of two at or above `value`, so that dividing by it is exact. */
function powerOfTwoAbove(value: number): number {
  return value === 0 ? 1 : 2 ** Math.ceil(Math.log2(value));
}

/** A batch whose columns were divided by powers of two, and those divisors. */
export interface RescaledBatch extends PreparedBatch {
  /** The divisor of each feature column, length F (natural order). */
  scaleX: Float64Array;
  /** The divisor of each confound row, length M. */
  scaleN: Float64Array;
}

/**
 * A copy of the batch with every feature column and confound row divided by a
 * power of two near its largest magnitude. Correlations are scale-invariant and
 * power-of-two division is exact, so this recovers the correlations of values
 * whose squares overflow or underflow float64.
 *
 * @param batch A batch whose moments overflowed or underflowed.
 * @returns The rescaled batch (float64 copies) and the divisors, which a
 * gradient taken on it needs to map back (`∂/∂x = ∂/∂x' / scale`).
 */
export function rescaleBatch(batch: PreparedBatch): RescaledBatch {
  const { count: B, features: F, confounds: M } = batch;
  const x = Float64Array.from(batch.x);
  const n = Float64Array.from(batch.n);
  const scaleX = new Float64Array(F);
  const scaleN = new Float64Array(M);
  for (let f = 0; f < F; f++) {
    let largest = 0;
    for (let b = 0; b < B; b++) largest = Math.max(largest, Math.abs(x[b * F + f]!));
    const scale = scaleX[f] = powerOfTwoAbove(largest);
    for (let b = 0; b < B; b++) x[b * F + f]! /= scale;
  }
  for (let m = 0; m < M; m++) {
    let largest = 0;
    for (let b = 0; b < B; b++) largest = Math.max(largest, Math.abs(n[m * B + b]!));
    const scale = scaleN[m] = powerOfTwoAbove(largest);
    for (let b = 0; b < B; b++) n[m * B + b]! /= scale;
  }
  return { ...batch, x, n, scaleX, scaleN };
}
