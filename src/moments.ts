/**
 * The batch kernel: centred first and second moments of one mini-batch, the
 * sufficient statistics from which correlations and the running accumulator
 * are built.
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

/** Allocates zeroed moments for F features and M confounds. */
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

const EPSILON = Number.EPSILON;

/**
 * Whether a column whose sum of squares is tiny is in fact exactly constant.
 *
 * A constant column's mean is not always its value in floating point (summing
 * 0.1 three times), which leaves rounding residue in its sum of squares and a
 * meaningless correlation of ±1. Only columns whose sum of squares is within
 * that residue are scanned, so the check costs nothing on ordinary data.
 */
function mayBeConstant(m2: number, mean: number, count: number): boolean {
  const residue = count * count * count * 16 * EPSILON * EPSILON * mean * mean;
  // Includes 0, so that a constant column's co-moments are zeroed too.
  return m2 <= residue;
}

/**
 * `Σd² − (Σd)²/B`, the sum of squares about the true mean. Where rounding
 * leaves nothing positive (a constant or all but constant column), the
 * uncorrected `Σd²` is kept: still ≥ 0, and tiny enough for the constant check.
 */
function correctedSumOfSquares(squares: number, deviations: number, count: number): number {
  const corrected = squares - deviations * deviations / count;
  return corrected > 0 ? corrected : squares;
}

function columnIsConstant(data: KernelArray, start: number, stride: number, count: number): boolean {
  const first = data[start]!;
  for (let i = 1; i < count; i++) {
    if (data[start + i * stride] !== first) return false;
  }
  return true;
}

/**
 * Computes the centred moments of one batch, two-pass: means first, then sums
 * of products of deviations from those means (never raw `Σx² − (Σx)²/n`, which
 * loses every digit for data like `1e9 + noise`).
 *
 * The second pass is the corrected two-pass algorithm (Chan, Golub & LeVeque,
 * 1983): the first-pass mean `m` of values near 1e9 is off the true mean by
 * some 1e-7 (B rounding errors of the running sum), and deviations from it
 * carry that offset `δ` into every sum: `Σd² = M2 + B·δ²`,
 * `Σdx·dn = C + B·δx·δn`. Summing the deviations themselves gives
 * `Σd = B·δ` almost exactly (each `x − m` is exact for values close to `m`),
 * so `M2 = Σd² − (Σd)²/B`, `C = Σdx·dn − Σdx·Σdn/B` and the mean
 * `m + Σd/B` come out right to rounding; plain two-pass was off by up to 1e-11
 * in r on `1e9 + noise` batches.
 *
 * Exactly constant columns get a sum of squares of exactly 0, so callers can
 * recognise zero variance without a tolerance.
 *
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B, the number of samples.
 * @param features F.
 * @param confounds M.
 * @param out Optional storage to fill (its `count` is overwritten).
 * @returns The moments.
 */
export function computeBatchMoments(
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments = emptyMoments(features, confounds),
): BatchMoments {
  const F = features, M = confounds, B = count;
  const { meanX, meanN, m2X, m2N, comoment } = out;
  out.count = B;
  meanX.fill(0);
  m2X.fill(0);
  comoment.fill(0);

  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) meanX[f]! += x[row + f]!;
  }
  for (let f = 0; f < F; f++) meanX[f]! /= B;

  const offsetN = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    const row = m * B;
    let sum = 0;
    for (let b = 0; b < B; b++) sum += n[row + b]!;
    const mean = sum / B;
    let ss = 0;
    let deviations = 0;
    for (let b = 0; b < B; b++) {
      const d = n[row + b]! - mean;
      ss += d * d;
      deviations += d;
    }
    meanN[m] = mean;
    offsetN[m] = deviations;
    m2N[m] = correctedSumOfSquares(ss, deviations, B);
  }

  const offsetX = new Float64Array(F);
  const centredN = new Float64Array(M);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let m = 0; m < M; m++) centredN[m] = n[m * B + b]! - meanN[m]!;
    if (M === 1) {
      const c0 = centredN[0]!;
      for (let f = 0; f < F; f++) {
        const d = x[row + f]! - meanX[f]!;
        offsetX[f]! += d;
        m2X[f]! += d * d;
        comoment[f]! += d * c0;
      }
    } else {
      for (let f = 0; f < F; f++) {
        const d = x[row + f]! - meanX[f]!;
        offsetX[f]! += d;
        m2X[f]! += d * d;
        const base = f * M;
        for (let m = 0; m < M; m++) comoment[base + m]! += d * centredN[m]!;
      }
    }
  }

  for (let f = 0; f < F; f++) {
    const sx = offsetX[f]!;
    m2X[f] = correctedSumOfSquares(m2X[f]!, sx, B);
    const base = f * M;
    for (let m = 0; m < M; m++) comoment[base + m]! -= sx * offsetN[m]! / B;
  }
  for (let f = 0; f < F; f++) meanX[f]! += offsetX[f]! / B;
  for (let m = 0; m < M; m++) meanN[m]! += offsetN[m]! / B;

  for (let f = 0; f < F; f++) {
    if (mayBeConstant(m2X[f]!, meanX[f]!, B) && columnIsConstant(x, f, F, B)) {
      m2X[f] = 0;
      comoment.fill(0, f * M, f * M + M);
    }
  }
  for (let m = 0; m < M; m++) {
    if (mayBeConstant(m2N[m]!, meanN[m]!, B) && columnIsConstant(n, m * B, 1, B)) m2N[m] = 0;
    if (m2N[m] === 0) for (let f = 0; f < F; f++) comoment[f * M + m] = 0;
  }
  return out;
}

/**
 * Finds the first non-finite element (NaN or ±Infinity) of an array.
 *
 * @param data The values to scan.
 * @returns The index of the first non-finite element, or -1.
 */
export function findNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}
