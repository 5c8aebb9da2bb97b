/**
 * The sufficient statistics of a batch: centred first and second moments,
 * from which correlations and the running accumulator are built.
 *
 * @module
 */

/** Row-major storage read by the kernels; float32 is read as float64. */
export type KernelArray = Float64Array | Float32Array;

/**
 * Centred moments of one batch (or of many merged batches).
 *
 * Features are in the natural row-major order of X's trailing axes; the public
 * functions permute them into hypercoil's order on output.
 */
export interface BatchMoments {
  /** Number of samples, B. */
  count: number;
  /** Number of features, F. */
  features: number;
  /** Number of confounds, M. */
  confounds: number;
  /** Mean of each feature, length F. */
  meanX: Float64Array;
  /** Mean of each confound, length M. */
  meanN: Float64Array;
  /** Sum of squared deviations of each feature, length F. */
  m2X: Float64Array;
  /** Sum of squared deviations of each confound, length M. */
  m2N: Float64Array;
  /** Co-moment `Σ (x_f − x̄_f)(n_m − n̄_m)`, row-major `(F, M)`. */
  comoment: Float64Array;
}

/**
 * Allocates zeroed moments for F features and M confounds.
 *
 * @param features F.
 * @param confounds M.
 * @returns The moments, count 0.
 */
export function emptyMoments(features: number, confounds: number): BatchMoments {
  return {
    count: 0,
    features,
    confounds,
    meanX: new Float64Array(features),
    meanN: new Float64Array(confounds),
    m2X: new Float64Array(features),
    m2N: new Float64Array(confounds),
    comoment: new Float64Array(features * confounds),
  };
}
