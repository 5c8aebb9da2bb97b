/**
 * hypercoil's feature order: X is flattened as `X.swapaxes(0, -1).reshape(-1, B)`,
 * which differs from the natural row-major column order for X of rank 3 or more.
 *
 * @module
 */

/**
 * The permutation from hypercoil's feature order to the natural (row-major)
 * column order of the trailing axes of `X`.
 *
 * hypercoil flattens `X.swapaxes(0, -1).reshape(-1, B)`, so the last axis of X
 * varies slowest and the middle axes follow in order. For shapes of rank 1 or 2
 * the two orders agree and `undefined` is returned.
 *
 * @param shape The shape of `X`, batch axis first.
 * @returns `order[f]` is the natural column holding output feature `f`, or
 * `undefined` when the orders agree.
 */
export function featureOrder(shape: readonly number[]): Int32Array | undefined {
  if (shape.length <= 2) return undefined;
  const trailing = shape.slice(1);
  const last = trailing[trailing.length - 1] ?? 1;
  const inner = trailing.slice(0, -1).reduce((a, b) => a * b, 1);
  const order = new Int32Array(inner * last);
  // Feature f = k * inner + j, where k indexes the last axis and j the flat
  // index over the middle axes; its natural column is j * last + k.
  for (let k = 0; k < last; k++) {
    for (let j = 0; j < inner; j++) order[k * inner + j] = j * last + k;
  }
  return order;
}

/**
 * Permutes the rows of a row-major `(F, M)` matrix given in natural column
 * order into hypercoil's feature order.
 *
 * @param values Row-major `(F, M)` values in natural order.
 * @param order The permutation from {@linkcode featureOrder}.
 * @param confounds M, the row length.
 * @returns A new array in feature order.
 */
export function permuteRows(
  values: Float64Array,
  order: Int32Array,
  confounds: number,
): Float64Array {
  const out = new Float64Array(values.length);
  for (let f = 0; f < order.length; f++) {
    const source = order[f]! * confounds;
    out.set(values.subarray(source, source + confounds), f * confounds);
  }
  return out;
}

/**
 * The inverse of {@linkcode permuteRows}: rows in hypercoil's feature order
 * back to natural order.
 *
 * @param values Row-major `(F, M)` values in hypercoil's order.
 * @param order The permutation from {@linkcode featureOrder}.
 * @param confounds M, the row length.
 * @returns A new array in natural order.
 */
export function unpermuteRows(
  values: Float64Array,
  order: Int32Array,
  confounds: number,
): Float64Array {
  const out = new Float64Array(values.length);
  for (let f = 0; f < order.length; f++) {
    out.set(values.subarray(f * confounds, f * confounds + confounds), order[f]! * confounds);
  }
  return out;
}
