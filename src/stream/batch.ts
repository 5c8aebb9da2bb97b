/**
 * The unit the streams read: one mini-batch of features and confounds.
 *
 * @module
 */

import type { TensorLike } from "../core/tensor.ts";

/** One mini-batch: features `x` (batch first) and confounds `n` (`(B)` or `(M, B)`). */
export interface Batch {
  /** Features with the batch on the first axis, as `batchCorr` accepts them. */
  x: TensorLike;
  /** Confounds: a vector `(B)` or a matrix `(M, B)`. */
  n: TensorLike;
}
