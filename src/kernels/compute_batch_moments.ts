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

import { wasmFastFloat32Moments, wasmFeatureMoments, wasmKernelAvailable } from "./_wasm_kernel.ts";

const EPSILON = Number.EPSILON;

/**
 * Whether a column whose sum of squares is tiny is in fact exactly constant.
 *
 * A constant column's mean is not always its value in floating point (summing
 * 0.1 three times), which leaves rounding residue in its sum of squares and a
 * meaningless correlation of ±1. Only columns whose sum of squares is within
 * that residue are scanned, so the check costs nothing on ordinary data.
 */
function mayBeConstant(m2: number, mean: number, count: number, epsilon: number = EPSILON): boolean {
  const residue = count * count * count * 16 * epsilon * epsilon * mean * mean;
  return m2 !== 0 && m2 <= residue;
}

function columnIsConstant(data: KernelArray, start: number, stride: number, count: number): boolean {
  const first = data[start]!;
  for (let i = 1; i < count; i++) {
    if (data[start + i * stride] !== first) return false;
  }
  return true;
}

/** Which implementation of the batch kernel runs. */
export type MomentsKernel = "wasm-simd" | "typescript";

/**
 * The kernel {@linkcode computeBatchMoments} uses in this runtime: WebAssembly
 * SIMD where the engine supports it, else the TypeScript loop. Both give
 * bit-for-bit the same moments.
 *
 * @returns The kernel's name.
 */
export function defaultMomentsKernel(): MomentsKernel {
  return wasmKernelAvailable() ? "wasm-simd" : "typescript";
}

/**
 * Computes the centred moments of one batch, two-pass: means first, then sums
 * of products of deviations from those means (never raw `Σx² − (Σx)²/n`, which
 * loses every digit for data like `1e9 + noise`).
 *
 * Exactly constant columns get a sum of squares of exactly 0, so callers can
 * recognise zero variance without a tolerance.
 *
 * The work over X runs in the WebAssembly SIMD kernel where available (see
 * {@linkcode defaultMomentsKernel}); it sums in the same order with the same
 * operations as the TypeScript loop, so the result does not depend on which ran.
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
  return computeBatchMomentsWith(defaultMomentsKernel(), x, n, count, features, confounds, out);
}

/**
 * {@linkcode computeBatchMoments} with a chosen kernel (tests and benchmarks
 * compare them; "wasm-simd" falls back to TypeScript where unavailable).
 *
 * @param kernel The kernel to run.
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param out Optional storage to fill.
 * @returns The moments.
 */
export function computeBatchMomentsWith(
  kernel: MomentsKernel,
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments = emptyMoments(features, confounds),
): BatchMoments {
  const F = features, M = confounds, B = count;
  out.count = B;
  const centredN = confoundMoments(n, B, M, out);
  const done = kernel === "wasm-simd" &&
    wasmFeatureMoments(x, centredN, B, F, M, out.meanX, out.m2X, out.comoment);
  if (!done) typescriptFeatureMoments(x, centredN, B, F, M, out);
  correctOffsetMeans(x, centredN, B, F, M, out);
  zeroConstantColumns(x, n, B, F, M, out);
  return out;
}

/** Columns whose mean exceeds this many spreads get the corrected two-pass. */
const OFFSET_RISK = 1e4;

/**
 * The corrected two-pass algorithm (Chan, Golub and LeVeque) for columns far
 * from zero relative to their spread, such as `1e9 + noise`.
 *
 * A first-pass mean `m` of such a column is off by its summation error `δ`,
 * which is not small next to the spread. The deviations `d = x − m` are exact
 * there, and `Σd = B·δ`, so `M2 = Σd² − (Σd)²/B`, `C = Σdx·dn − Σdx·Σdn/B`
 * and the mean `m + Σd/B` come out right to rounding (plain two-pass was off
 * by up to 1e-11 in r on `1e9 + noise` batches). Elsewhere the correction is
 * below rounding, so only columns past {@linkcode OFFSET_RISK} spreads pay the
 * extra pass; the confounds, being few, always get it.
 */
function correctOffsetMeans(
  x: KernelArray,
  centredN: Float64Array,
  B: number,
  F: number,
  M: number,
  out: BatchMoments,
): void {
  const { meanX, m2X, meanN, m2N, comoment } = out;
  const offsetN = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let sum = 0;
    for (let b = 0; b < B; b++) sum += centredN[m * B + b]!;
    offsetN[m] = sum;
    m2N[m] = Math.max(m2N[m]! - (sum * sum) / B, 0);
    meanN[m]! += sum / B;
  }
  for (let f = 0; f < F; f++) {
    const mean = meanX[f]!;
    if (!(Math.abs(mean) > OFFSET_RISK * Math.sqrt(m2X[f]! / B))) continue;
    let sum = 0;
    for (let b = 0; b < B; b++) sum += x[b * F + f]! - mean;
    if (sum === 0) continue;
    m2X[f] = Math.max(m2X[f]! - (sum * sum) / B, 0);
    meanX[f] = mean + sum / B;
    for (let m = 0; m < M; m++) comoment[f * M + m]! -= (sum * offsetN[m]!) / B;
  }
}

/** float32's unit roundoff: the fast kernel centres in float32. */
const FLOAT32_EPSILON = 2 ** -23;

/**
 * The fast float32 batch kernel: like {@linkcode computeBatchMoments}, but X
 * (converted to float32 if given as float64) is centred and summed in float32
 * within chunks of 32 samples and in float64 across chunks, with twice the
 * SIMD lanes of the exact kernel. The confounds stay exact. Correlations agree
 * with the exact kernel to about 1e-6; constant columns are still detected
 * exactly. Without WebAssembly SIMD it runs the exact TypeScript kernel.
 *
 * @param x The batch's features, row-major `(B, F)`.
 * @param n The batch's confounds, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param out Optional storage to fill.
 * @returns The moments.
 */
export function computeBatchMomentsFloat32(
  x: KernelArray,
  n: KernelArray,
  count: number,
  features: number,
  confounds: number,
  out: BatchMoments = emptyMoments(features, confounds),
): BatchMoments {
  const F = features, M = confounds, B = count;
  out.count = B;
  const x32 = x instanceof Float32Array ? x : new Float32Array(x);
  const centredN = confoundMoments(n, B, M, out);
  if (wasmFastFloat32Moments(x32, centredN, B, F, M, out.meanX, out.m2X, out.comoment)) {
    zeroConstantColumns(x32, n, B, F, M, out, FLOAT32_EPSILON);
  } else {
    typescriptFeatureMoments(x32, centredN, B, F, M, out);
    zeroConstantColumns(x32, n, B, F, M, out);
  }
  return out;
}

/** Means and sums of squares of the confounds; returns them centred, `(M, B)`. */
function confoundMoments(n: KernelArray, B: number, M: number, out: BatchMoments): Float64Array {
  const { meanN, m2N } = out;
  const centred = new Float64Array(M * B);
  for (let m = 0; m < M; m++) {
    const row = m * B;
    let sum = 0;
    for (let b = 0; b < B; b++) sum += n[row + b]!;
    const mean = sum / B;
    let ss = 0;
    for (let b = 0; b < B; b++) {
      const d = n[row + b]! - mean;
      centred[row + b] = d;
      ss += d * d;
    }
    meanN[m] = mean;
    m2N[m] = ss;
  }
  return centred;
}

/** The scalar kernel over X: means, then centred sums in sample order. */
function typescriptFeatureMoments(
  x: KernelArray,
  centredN: Float64Array,
  B: number,
  F: number,
  M: number,
  out: BatchMoments,
): void {
  const { meanX, m2X, comoment } = out;
  meanX.fill(0);
  m2X.fill(0);
  comoment.fill(0);

  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let f = 0; f < F; f++) meanX[f]! += x[row + f]!;
  }
  for (let f = 0; f < F; f++) meanX[f]! /= B;

  const sample = new Float64Array(M);
  for (let b = 0; b < B; b++) {
    const row = b * F;
    for (let m = 0; m < M; m++) sample[m] = centredN[m * B + b]!;
    if (M === 1) {
      const c0 = sample[0]!;
      for (let f = 0; f < F; f++) {
        const d = x[row + f]! - meanX[f]!;
        m2X[f]! += d * d;
        comoment[f]! += d * c0;
      }
    } else {
      for (let f = 0; f < F; f++) {
        const d = x[row + f]! - meanX[f]!;
        m2X[f]! += d * d;
        const base = f * M;
        for (let m = 0; m < M; m++) comoment[base + m]! += d * sample[m]!;
      }
    }
  }
}

/**
 * Exactly constant columns: sum of squares 0 and co-moments 0 (see
 * mayBeConstant). `featureEpsilon` is the unit roundoff the features were
 * centred with (float32's for the fast kernel).
 */
function zeroConstantColumns(
  x: KernelArray,
  n: KernelArray,
  B: number,
  F: number,
  M: number,
  out: BatchMoments,
  featureEpsilon: number = EPSILON,
): void {
  const { meanX, m2X, meanN, m2N, comoment } = out;
  for (let m = 0; m < M; m++) {
    if (mayBeConstant(m2N[m]!, meanN[m]!, B) && columnIsConstant(n, m * B, 1, B)) m2N[m] = 0;
  }
  for (let f = 0; f < F; f++) {
    if (mayBeConstant(m2X[f]!, meanX[f]!, B, featureEpsilon) && columnIsConstant(x, f, F, B)) {
      m2X[f] = 0;
      comoment.fill(0, f * M, f * M + M);
    }
  }
  for (let m = 0; m < M; m++) {
    if (m2N[m] === 0) for (let f = 0; f < F; f++) comoment[f * M + m] = 0;
  }
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
