/**
 * The one scan for an exactly constant column, used wherever a tiny sum of
 * squares must be told apart from zero variance.
 *
 * @module
 */

import type { KernelArray } from "./batch_moments.ts";

/**
 * Whether every element of a strided column equals its first exactly (a NaN
 * never does; 0 and -0 do).
 *
 * @param data Row-major storage.
 * @param start The index of the column's first element.
 * @param stride The distance between its elements: F for a feature column of
 * a `(B, F)` batch, 1 for a confound row of `(M, B)`.
 * @param count The number of elements, B.
 * @returns True when the column is exactly constant.
 */
export function isConstantColumn(
  data: KernelArray,
  start: number,
  stride: number,
  count: number,
): boolean {
  const first = data[start];
  for (let i = 1; i < count; i++) {
    if (data[start + i * stride] !== first) return false;
  }
  return true;
}
