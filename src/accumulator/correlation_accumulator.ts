/**
 * The online correlation state of SPEC section 4: count, means, sums of
 * squared deviations and the feature × confound co-moment, updated batch by
 * batch with Chan et al.'s parallel merge.
 *
 * @module
 */

import { z } from "zod";
import { type BatchCorrOptions, type BatchCorrResult, resolveTol } from "../batch_corr/batch_corr.ts";
import { ruleMessage } from "../core/errors.ts";
import { type BatchMoments, computeBatchMoments, emptyMoments } from "../kernels/compute_batch_moments.ts";
import {
  addToMean,
  emptyPreciseMoments,
  fillLowParts,
  type MeanLowParts,
  meanDifference,
  type PreciseMoments,
  withoutLowParts,
} from "../core/precise_means.ts";
import { checkElementLimit, DEFAULT_MAX_ELEMENTS, MAX_ELEMENTS_RULE } from "../core/limits.ts";
import { batchCorrOptionsSchema, maxElementsSchema, parseOptions } from "../core/parse_options.ts";
import {
  assertFiniteBatch,
  findUnrepresentableColumn,
  type PreparedBatch,
  prepareBatch,
  UNDERFLOW_RISK,
} from "../core/prepare_batch.ts";
import {
  type AccumulatorSnapshot,
  decodeSnapshotBytes,
  decodeSnapshotJSON,
  encodeSnapshotBytes,
  encodeSnapshotJSON,
  type SnapshotExpectations,
  type SnapshotState,
} from "./snapshot_json.ts";
import { featureOrder, type TensorLike } from "../core/tensor.ts";
import { countZeros, type ZeroVariancePolicy } from "../core/correlation_view.ts";

export type { AccumulatorSnapshot } from "./snapshot_json.ts";

/** Options of {@linkcode CorrelationAccumulator}. */
export interface AccumulatorOptions {
  /**
   * The shape of one sample's features (X's shape without the batch axis).
   * @default {undefined} (fixed by the first update)
   */
  featureShape?: number[];
  /**
   * The number of confounds M.
   * @default {undefined} (fixed by the first update)
   */
  confounds?: number;
  /**
   * The largest F·M (features × confounds) this accumulator will allocate
   * for: a larger shape (from the options, a batch, a merge or a snapshot
   * being restored) is refused with a `BatchCorrError` ("resource_limit")
   * before any F·M buffer exists. The state holds two F·M float64 buffers.
   * @default {134217728} (2²⁷, `DEFAULT_MAX_ELEMENTS`)
   */
  maxElements?: number;
}

const accumulatorOptionsSchema = z.strictObject({
  featureShape: z.array(z.number().int().positive()).optional(),
  confounds: z.number().int().positive().optional(),
  maxElements: maxElementsSchema.default(DEFAULT_MAX_ELEMENTS),
});

const ACCUMULATOR_RULES: Record<string, string> = {
  featureShape: "an array of positive integers",
  confounds: "a positive integer",
  maxElements: MAX_ELEMENTS_RULE,
};

/**
 * Merges the centred moments of two disjoint sample sets A and B into those of
 * their union, with the parallel update of Chan, Golub & LeVeque (1979).
 *
 * Derivation, for one feature x and one confound y, with counts `nA`, `nB`,
 * `n = nA + nB`, means `x̄A`, `x̄B` and `δx = x̄B − x̄A` (likewise `δy`):
 *
 * - The union's mean is `x̄ = (nA·x̄A + nB·x̄B) / n = x̄A + δx·nB/n`.
 * - Every sample of A deviates from `x̄` by its deviation from `x̄A` minus
 *   `δx·nB/n`, and every sample of B by its deviation from `x̄B` plus
 *   `δx·nA/n`. Deviations from a set's own mean sum to zero, so the cross
 *   terms vanish when the co-moment `C = Σ (x − x̄)(y − ȳ)` is expanded:
 *   `C = CA + nA·(δx·nB/n)(δy·nB/n) + CB + nB·(δx·nA/n)(δy·nA/n)
 *      = CA + CB + (nA·nB/n)·δx·δy`.
 * - With y = x this is the sum of squares: `M2x = M2xA + M2xB + (nA·nB/n)·δx²`.
 *
 * Only differences of means enter, never raw sums of squares, so data such as
 * `1e9 + noise` keep their digits. Means may carry low parts (double-double,
 * see `precise_means.ts`): then `δ = (hiB − hiA) + (loB − loA)` and the mean
 * is updated with TwoSum, so the union's mean keeps every digit too; a float64
 * mean of values near 1e9 is only good to 6e-8, which is not small next to a
 * spread of 0.3. Missing low parts count as 0. The formula is symmetric in A and B, which
 * makes merging associative and order independent up to rounding. Counts may
 * be weights (the same algebra holds with `n` a sum of weights), which is how
 * exponential forgetting scales a state before merging.
 *
 * When both means agree exactly (`δ = 0`), nothing is added: exactly constant
 * columns keep a sum of squares of exactly 0 across merges, provided each
 * batch reports the constant itself as its mean (see `pinConstantMeans`), with
 * a low part of 0.
 *
 * `out` may be `a` or `b` itself: every element is read before it is written.
 *
 * @param a The moments of the first sample set.
 * @param b The moments of the second sample set (same F and M).
 * @param out Storage for the result; new storage when omitted.
 * @returns `out`, holding the moments of the union.
 * @throws {TypeError} If the two have different numbers of features or confounds.
 */
export function mergeMoments(
  a: PreciseMoments,
  b: PreciseMoments,
  out: PreciseMoments = emptyPreciseMoments(a.features, a.confounds),
): PreciseMoments {
  const F = a.features, M = a.confounds;
  if (b.features !== F || b.confounds !== M || out.features !== F || out.confounds !== M) {
    throw new TypeError(
      `Cannot merge moments as both must have the same numbers of features and confounds: current values are (${F}, ${M}) and (${b.features}, ${b.confounds})`,
    );
  }
  const nA = a.count, nB = b.count, n = nA + nB;
  if (nB === 0) return copyMoments(a, out);
  if (nA === 0) return copyMoments(b, out);
  const shareB = nB / n;
  const k = nA * shareB;
  const deltaN = new Float64Array(M);
  const loNA = a.meanNLo, loNB = b.meanNLo;
  for (let m = 0; m < M; m++) deltaN[m] = meanDifference(a.meanN[m]!, loNA?.[m] ?? 0, b.meanN[m]!, loNB?.[m] ?? 0);
  const loXA = a.meanXLo, loXB = b.meanXLo;
  for (let f = 0; f < F; f++) {
    const loA = loXA?.[f] ?? 0;
    const dx = meanDifference(a.meanX[f]!, loA, b.meanX[f]!, loXB?.[f] ?? 0);
    const kdx = k * dx;
    const base = f * M;
    for (let m = 0; m < M; m++) {
      out.comoment[base + m] = a.comoment[base + m]! + b.comoment[base + m]! + kdx * deltaN[m]!;
    }
    out.m2X[f] = a.m2X[f]! + b.m2X[f]! + kdx * dx;
    addToMean(out.meanX, out.meanXLo, f, a.meanX[f]!, loA, dx * shareB);
  }
  for (let m = 0; m < M; m++) {
    const dn = deltaN[m]!;
    out.m2N[m] = a.m2N[m]! + b.m2N[m]! + k * dn * dn;
    addToMean(out.meanN, out.meanNLo, m, a.meanN[m]!, loNA?.[m] ?? 0, dn * shareB);
  }
  out.count = n;
  return out;
}

/**
 * Copies moments into `out` (a no-op when they are the same object). Means
 * keep their low parts when both have storage for them; an `out` without it
 * gets each mean rounded to float64 (`hi + lo`); a `source` without low parts
 * gives low parts of 0.
 *
 * @param source The moments to copy.
 * @param out The storage to fill.
 * @returns `out`.
 */
export function copyMoments<T extends PreciseMoments>(source: PreciseMoments, out: T): T {
  if (source === out) return out;
  out.count = source.count;
  copyMeans(source.meanX, source.meanXLo, out.meanX, out.meanXLo);
  copyMeans(source.meanN, source.meanNLo, out.meanN, out.meanNLo);
  out.m2X.set(source.m2X);
  out.m2N.set(source.m2N);
  out.comoment.set(source.comoment);
  return out;
}

function copyMeans(hi: Float64Array, lo: Float64Array | undefined, outHi: Float64Array, outLo: Float64Array | undefined): void {
  outHi.set(hi);
  if (outLo) {
    if (lo) outLo.set(lo);
    else outLo.fill(0);
  } else if (lo) {
    for (let i = 0; i < hi.length; i++) outHi[i] = hi[i]! + lo[i]!;
  }
}

/**
 * Scales a state's weights by `factor` (exponential forgetting): the count,
 * sums of squares and co-moment scale, the means do not.
 *
 * @param source The state.
 * @param factor The weight multiplier, in (0, 1].
 * @param out Storage (may be `source`).
 * @returns `out`.
 */
export function scaleMoments(source: PreciseMoments, factor: number, out: PreciseMoments): PreciseMoments {
  if (factor === 1) return copyMoments(source, out);
  out.count = source.count * factor;
  copyMeans(source.meanX, source.meanXLo, out.meanX, out.meanXLo);
  copyMeans(source.meanN, source.meanNLo, out.meanN, out.meanNLo);
  for (let f = 0; f < source.features; f++) out.m2X[f] = source.m2X[f]! * factor;
  for (let m = 0; m < source.confounds; m++) out.m2N[m] = source.m2N[m]! * factor;
  const { comoment } = source;
  for (let i = 0; i < comoment.length; i++) out.comoment[i] = comoment[i]! * factor;
  return out;
}

/**
 * Sets the mean of every exactly constant column (sum of squares exactly 0) to
 * the constant itself. A computed mean such as `(0.1 + 0.1 + 0.1) / 3` is not
 * always the constant, and two batches of the same constant would then differ
 * by a rounding residue that the merge turns into a spurious variance.
 *
 * @param moments The batch's moments (modified).
 * @param batch The batch they were computed from.
 * @returns `moments`.
 */
export function pinConstantMeans<T extends BatchMoments>(moments: T, batch: PreparedBatch): T {
  const { features: F, count: B } = batch;
  for (let f = 0; f < F; f++) {
    // `+ 0` turns -0 into 0, so a snapshot's JSON (which cannot tell them apart) restores the same state.
    if (moments.m2X[f] === 0) moments.meanX[f] = batch.x[f]! + 0;
  }
  for (let m = 0; m < batch.confounds; m++) {
    if (moments.m2N[m] === 0) moments.meanN[m] = batch.n[m * B]! + 0;
  }
  return moments;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((extent, i) => extent === b[i]);
}

/**
 * Correlations from moments in hypercoil's feature order, thresholded: the
 * same operations as `batchCorr` (`pearsonFromMoments`, the permutation,
 * then `softThreshold`), element by element, so the numbers are identical;
 * fused into one pass that reads each row from its natural position, because
 * on every batch of a stream these passes over F·M are the cost beyond the
 * kernel.
 *
 * @param moments The state, features in natural order.
 * @param order The feature permutation, or undefined.
 * @param tol The resolved tolerance.
 * @param abs Whether to drop the sign.
 * @param zeroVariance The 0/0 policy.
 * @param out Storage of length F·M for the result.
 * @returns `out`.
 */
export function thresholdedFromMoments(
  moments: BatchMoments,
  order: Int32Array | undefined,
  tol: number,
  abs: boolean,
  zeroVariance: ZeroVariancePolicy,
  out: Float64Array,
): Float64Array {
  const { m2X, m2N, comoment, features: F, confounds: M } = moments;
  const degenerate = zeroVariance === "nan" ? Number.NaN : 0;
  if (M === 1 && !order) return thresholdedSingleConfound(m2X, Math.sqrt(m2N[0]!), comoment, F, tol, abs, degenerate, out);
  const sdN = new Float64Array(M);
  for (let m = 0; m < M; m++) sdN[m] = Math.sqrt(m2N[m]!);
  for (let f = 0; f < F; f++) {
    const source = order ? order[f]! : f;
    const sdX = Math.sqrt(m2X[source]!);
    const from = source * M, to = f * M;
    for (let m = 0; m < M; m++) {
      const denominator = sdX * sdN[m]!;
      const r = denominator === 0 ? degenerate : comoment[from + m]! / denominator;
      // Math.max(NaN, 0) is NaN, as in softThreshold.
      const shrunk = Math.max(Math.abs(r) - tol, 0);
      out[to + m] = abs ? shrunk : Math.sign(r) * shrunk;
    }
  }
  return out;
}

/** {@linkcode thresholdedFromMoments} for one confound in natural order, the common streaming case. */
function thresholdedSingleConfound(
  m2X: Float64Array,
  sdN: number,
  comoment: Float64Array,
  F: number,
  tol: number,
  abs: boolean,
  degenerate: number,
  out: Float64Array,
): Float64Array {
  for (let f = 0; f < F; f++) {
    const denominator = Math.sqrt(m2X[f]!) * sdN;
    const r = denominator === 0 ? degenerate : comoment[f]! / denominator;
    const shrunk = Math.max(Math.abs(r) - tol, 0);
    out[f] = abs ? shrunk : Math.sign(r) * shrunk;
  }
  return out;
}

/**
 * Builds a {@linkcode BatchCorrResult} from moments (one new array of F·M).
 *
 * @param moments The state.
 * @param order The feature permutation, or undefined.
 * @param tol The resolved tolerance.
 * @param abs Whether to drop the sign.
 * @param zeroVariance The 0/0 policy.
 * @returns The result.
 */
export function resultFromMoments(
  moments: BatchMoments,
  order: Int32Array | undefined,
  tol: number,
  abs: boolean,
  zeroVariance: ZeroVariancePolicy,
): BatchCorrResult {
  const data = new Float64Array(moments.features * moments.confounds);
  return {
    data: thresholdedFromMoments(moments, order, tol, abs, zeroVariance, data),
    shape: [moments.features, moments.confounds],
    tol,
    zeroVarianceFeatures: countZeros(moments.m2X),
    zeroVarianceConfounds: countZeros(moments.m2N),
  };
}

/** A merge computed but not yet applied, so a failure leaves the state as it was. */
export interface Staged {
  /** The merged state (the accumulator's spare buffer). */
  moments: BatchMoments & MeanLowParts;
  /** Σw² after the merge. */
  weightSquares: number;
  /** The feature shape fixed on commit. */
  featureShape: number[];
}

/**
 * The effective sample size `(Σw)² / Σw²` of a state (its count for unit weights).
 *
 * @param count Σw.
 * @param weightSquares Σw².
 * @returns The effective count.
 */
export function effectiveSampleSize(count: number, weightSquares: number): number {
  if (count === 0 || weightSquares === count) return count;
  return count * count / weightSquares;
}

/** Internal hooks for the stream, which stages a merge and commits it later. */
export let stageMerge: (
  accumulator: CorrelationAccumulator,
  moments: PreciseMoments,
  featureShape: readonly number[],
  weightSquares: number,
  decay: number,
  context: string,
) => Staged;
/** Applies the merge staged last by {@linkcode stageMerge}. */
export let commitStaged: (accumulator: CorrelationAccumulator) => void;
/** Discards a staged merge. */
export let discardStaged: (accumulator: CorrelationAccumulator) => void;

/**
 * The running correlation state of a stream: everything needed to give the
 * correlation of every feature with every confound over all samples seen so
 * far, in O(F·M) memory however many samples that is.
 *
 * Each batch is centred on its own means first (two-pass), then merged with
 * Chan et al.'s parallel update (see {@linkcode mergeMoments}), so data such
 * as `1e9 + noise` keep their precision; merging states from different workers
 * gives the same answer as one pass, up to rounding. Features are kept in the
 * natural column order of X and permuted into hypercoil's order on output.
 *
 * NaN and ±Infinity are rejected: a failed update leaves the state exactly as
 * it was, so it can still be snapshotted. A running state cannot rescale as
 * `batchCorr` does, so a column whose squared deviations overflow (values
 * beyond about 1e153) or underflow (a varying column whose deviations are
 * below about 1e-124) is refused with a `RangeError` rather than reported
 * with a wrong (zero) correlation.
 *
 * @example Two batches equal one concatenated batch
 * ```ts
 * import { CorrelationAccumulator, batchCorr } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const acc = new CorrelationAccumulator();
 * acc.update([[1, 4], [2, 2], [3, 3]], [0.1, 0.5, 0.2]);
 * acc.update([[4, 1], [5, 0]], [0.9, 0.3]);
 * const whole = batchCorr([[1, 4], [2, 2], [3, 3], [4, 1], [5, 0]], [0.1, 0.5, 0.2, 0.9, 0.3]);
 * assert.equal(acc.count, 5);
 * const running = acc.correlations();
 * running.data.forEach((r, i) => assert.ok(Math.abs(r - whole.data[i]!) < 1e-12));
 * ```
 */
export class CorrelationAccumulator {
  #featureShape: number[] | undefined;
  #confounds: number | undefined;
  #order: Int32Array | undefined;
  #state: (BatchMoments & MeanLowParts) | undefined;
  #spare: (BatchMoments & MeanLowParts) | undefined;
  #scratch: (BatchMoments & MeanLowParts) | undefined;
  #weightSquares = 0;
  #staged: Staged | undefined;
  #maxElements = DEFAULT_MAX_ELEMENTS;

  static {
    stageMerge = (accumulator, moments, featureShape, weightSquares, decay, context) =>
      accumulator.#stage(moments, featureShape, weightSquares, decay, context);
    commitStaged = (accumulator) => accumulator.#commit();
    discardStaged = (accumulator) => {
      accumulator.#staged = undefined;
    };
  }

  /**
   * Creates an empty accumulator.
   *
   * @param options The feature shape and number of confounds, when known in
   * advance, and the cap on F·M.
   * @throws {TypeError} If an option has the wrong type or is unknown.
   * @throws {RangeError} If an extent or the number of confounds is not a positive integer.
   * @throws {BatchCorrError} With code "resource_limit" if the given shape has
   * more than `maxElements` F·M entries.
   */
  constructor(options?: AccumulatorOptions) {
    const context = "create CorrelationAccumulator";
    const parsed = parseOptions(accumulatorOptionsSchema, options, context, ACCUMULATOR_RULES);
    this.#maxElements = parsed.maxElements;
    if (parsed.featureShape) {
      const features = parsed.featureShape.reduce((a, b) => a * b, 1);
      checkElementLimit(features, parsed.confounds ?? 1, parsed.maxElements, context);
      this.#setFeatureShape(parsed.featureShape);
    } else if (parsed.confounds !== undefined) {
      checkElementLimit(1, parsed.confounds, parsed.maxElements, context);
    }
    this.#confounds = parsed.confounds;
    this.#allocateIfShaped();
  }

  /**
   * Samples folded in so far (with exponential forgetting, the sum of weights).
   *
   * @returns The count.
   */
  get count(): number {
    return this.#state?.count ?? 0;
  }

  /**
   * The effective sample size `(Σw)² / Σw²` used for `tol: "auto"`; equal to
   * {@linkcode CorrelationAccumulator.count} when every sample has weight 1.
   *
   * @returns The effective count.
   */
  get effectiveCount(): number {
    return effectiveSampleSize(this.count, this.#weightSquares);
  }

  /**
   * The number of features F, or 0 until the feature shape is known.
   *
   * @returns F.
   */
  get features(): number {
    return this.#featureShape ? this.#featureShape.reduce((a, b) => a * b, 1) : 0;
  }

  /**
   * The number of confounds M, or 0 until it is known.
   *
   * @returns M.
   */
  get confounds(): number {
    return this.#confounds ?? 0;
  }

  /**
   * The shape of one sample's features, or undefined until the first update.
   *
   * @returns A copy of the shape.
   */
  get featureShape(): number[] | undefined {
    return this.#featureShape ? [...this.#featureShape] : undefined;
  }

  /**
   * Folds in one batch: validates it completely, computes its centred moments
   * (two-pass) and merges them into the state.
   *
   * @param x Features, batch first, as `batchCorr` accepts them.
   * @param n Confounds, `(B)` or `(M, B)`.
   * @returns This accumulator.
   * @throws {TypeError} If the batch is malformed or its feature shape or
   * number of confounds differs from the accumulator's.
   * @throws {RangeError} If the batch is empty or holds NaN or ±Infinity, or a
   * column's squared deviations overflow or underflow float64 (in the batch
   * or merged with the state). The state is unchanged.
   * @throws {BatchCorrError} With code "resource_limit" if the batch's F·M
   * exceeds the accumulator's `maxElements`.
   *
   * @example Folding in batches
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const acc = new CorrelationAccumulator().update([[1], [2]], [3, 5]).update([[3]], [4]);
   * assert.equal(acc.count, 3);
   * assert.deepEqual(acc.featureShape, [1]);
   * ```
   */
  update(x: TensorLike, n: TensorLike): this {
    const context = "update CorrelationAccumulator";
    const batch = prepareBatch(x, n, context, ["x", "n"], this.#maxElements);
    this.#checkShape(batch.featureShape, batch.confounds, context);
    const scratch = this.#scratch?.features === batch.features && this.#scratch.confounds === batch.confounds
      ? this.#scratch
      : emptyPreciseMoments(batch.features, batch.confounds);
    computeBatchMoments(batch.x, batch.n, batch.count, batch.features, batch.confounds, scratch);
    assertAccumulable(batch, scratch, context, ["x", "n"]);
    fillLowParts(pinConstantMeans(scratch, batch), batch);
    this.#stage(scratch, batch.featureShape, batch.count, 1, context);
    this.#commit();
    this.#scratch = scratch;
    return this;
  }

  /**
   * Merges precomputed moments of one batch of unit-weight samples (from a
   * compute backend), features in the natural column order of X.
   *
   * @param moments The batch's moments.
   * @param featureShape X's shape without the batch axis; defaults to the
   * accumulator's shape, or `[F]` when it has none.
   * @returns This accumulator.
   * @throws {TypeError} If the moments are malformed or their shape differs from the accumulator's.
   * @throws {RangeError} If a value is not finite, a sum of squares or the count is negative.
   * @throws {BatchCorrError} With code "resource_limit" if F·M exceeds the accumulator's `maxElements`.
   *
   * @example Merging a backend's moments
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const acc = new CorrelationAccumulator();
   * acc.updateMoments({
   *   count: 3, features: 1, confounds: 1,
   *   meanX: new Float64Array([2]), meanN: new Float64Array([4]),
   *   m2X: new Float64Array([4]), m2N: new Float64Array([16]), comoment: new Float64Array([8]),
   * });
   * assert.equal(acc.correlations().data[0], 1);
   * ```
   */
  updateMoments(moments: BatchMoments, featureShape?: number[]): this {
    const context = "update CorrelationAccumulator from moments";
    checkMoments(moments, context);
    const shape = featureShape ?? this.#featureShape ?? [moments.features];
    if (!Array.isArray(shape) || !shape.every((e) => Number.isInteger(e) && e > 0)) {
      throw new TypeError(ruleMessage(context, "featureShape", "an array of positive integers", shape));
    }
    if (shape.reduce((a, b) => a * b, 1) !== moments.features) {
      throw new TypeError(
        `Cannot ${context} as featureShape must hold moments.features (${moments.features}) features: current value is ${shapeText(shape)}`,
      );
    }
    this.#checkShape(shape, moments.confounds, context);
    // The means are taken as float64 values: low parts are this library's own state.
    this.#stage(withoutLowParts(moments), shape, moments.count, 1, context);
    this.#commit();
    return this;
  }

  /**
   * Merges another accumulator's state into this one (associative: shards
   * merged in any grouping give the same answer as one pass, up to rounding).
   *
   * @param other An accumulator of the same feature shape and confounds.
   * @returns This accumulator.
   * @throws {TypeError} If the shapes differ.
   * @throws {RangeError} If the merged sums of squares overflow float64.
   * @throws {BatchCorrError} With code "resource_limit" if the other's F·M
   * exceeds this accumulator's `maxElements`.
   *
   * @example Merging shards
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const a = new CorrelationAccumulator().update([[1], [2], [4]], [1, 2, 3]);
   * const b = new CorrelationAccumulator().update([[3], [5]], [4, 5]);
   * const whole = new CorrelationAccumulator().update([[1], [2], [4], [3], [5]], [1, 2, 3, 4, 5]);
   * assert.ok(Math.abs(a.merge(b).correlations().data[0]! - whole.correlations().data[0]!) < 1e-12);
   * ```
   */
  merge(other: CorrelationAccumulator): this {
    const context = "merge CorrelationAccumulator";
    if (!(other instanceof CorrelationAccumulator)) {
      throw new TypeError(ruleMessage(context, "other", "a CorrelationAccumulator", other));
    }
    const otherState = other.#state;
    if (other.#featureShape && other.#confounds !== undefined) {
      this.#checkShape(other.#featureShape, other.#confounds, context);
    }
    if (!otherState || otherState.count === 0 || !other.#featureShape) return this;
    this.#stage(otherState, other.#featureShape, other.#weightSquares, 1, context);
    this.#commit();
    return this;
  }

  /**
   * The thresholded correlations over every sample so far, `(F, M)` in
   * hypercoil's feature order, as `batchCorr` of all samples at once would
   * give them. `tol: "auto"` uses the count (the effective sample size with
   * exponential forgetting).
   *
   * @param options As `batchCorr`.
   * @returns The correlations with the tolerance used and zero-variance counts.
   * @throws {TypeError} If an option has the wrong type.
   * @throws {RangeError} If the accumulator holds no sample, or `tol` is "auto"
   * with fewer than 3 samples, or an option is out of range.
   * @throws {BatchCorrError} With code "resource_limit" if F·M exceeds `options.maxElements`.
   *
   * @example Thresholding with the total count
   * ```ts
   * import { CorrelationAccumulator, autoTol } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const acc = new CorrelationAccumulator().update([[1], [2], [3], [5]], [2, 4, 5, 9]);
   * assert.equal(acc.correlations({ tol: "auto" }).tol, autoTol(4));
   * ```
   */
  correlations(options?: BatchCorrOptions): BatchCorrResult {
    const context = "compute CorrelationAccumulator correlations";
    const resolved = parseOptions(batchCorrOptionsSchema, options, context);
    const state = this.#state;
    if (!state || state.count === 0) {
      throw new RangeError(ruleMessage(context, "the accumulator's count", "positive (update it with a batch first)", 0));
    }
    checkElementLimit(state.features, state.confounds, resolved.maxElements, context);
    const tol = resolveTol(resolved.tol, resolved.tolSig, this.effectiveCount, context);
    return resultFromMoments(state, this.#order, tol, resolved.abs, resolved.zeroVariance);
  }

  /**
   * A copy of the state, features in the natural column order of X. The state
   * keeps each mean in two parts for precision; they are returned summed,
   * rounded to float64.
   *
   * @returns The moments (zero-filled and count 0 before the first update).
   * @throws {RangeError} If the shape is not known yet.
   *
   * @example Reading the means
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const m = new CorrelationAccumulator().update([[1], [3]], [2, 6]).moments();
   * assert.deepEqual([m.count, m.meanX[0], m.meanN[0], m.m2X[0], m.comoment[0]], [2, 2, 4, 2, 4]);
   * ```
   */
  moments(): BatchMoments {
    const state = this.#state;
    if (!state) {
      throw new RangeError(ruleMessage("read CorrelationAccumulator moments", "the accumulator's shape", "known (update it first)", "unknown"));
    }
    return copyMoments(state, emptyMoments(state.features, state.confounds));
  }

  /**
   * An independent copy.
   *
   * @returns A new accumulator with the same shape and state.
   *
   * @example Branching a state
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const a = new CorrelationAccumulator().update([[1], [2]], [1, 3]);
   * const b = a.clone().update([[5]], [2]);
   * assert.deepEqual([a.count, b.count], [2, 3]);
   * ```
   */
  clone(): CorrelationAccumulator {
    return CorrelationAccumulator.#fromState(this.#snapshotState(), this.#maxElements);
  }

  /**
   * A versioned plain-JSON snapshot of the state (every number finite), for
   * `JSON.stringify` and {@linkcode CorrelationAccumulator.fromJSON}. Version 2
   * holds the means' low parts (`meanXLo`, `meanNLo`); version 1 snapshots
   * are still restored, with low parts 0.
   *
   * @returns The snapshot.
   *
   * @example Surviving a restart through JSON
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const acc = new CorrelationAccumulator().update([[1], [2], [4]], [1, 3, 2]);
   * const text = JSON.stringify(acc);
   * const restored = CorrelationAccumulator.fromJSON(text);
   * assert.deepEqual(restored.correlations(), acc.correlations());
   * ```
   */
  toJSON(): AccumulatorSnapshot {
    return encodeSnapshotJSON(this.#snapshotState());
  }

  /**
   * Restores an accumulator from {@linkcode CorrelationAccumulator.toJSON}'s
   * snapshot, given as the object or its JSON text.
   *
   * @param json The snapshot or its JSON text.
   * @param expected Optionally, the feature shape and confounds the snapshot
   * must have, and `maxElements`, the largest F·M it may declare.
   * @returns The restored accumulator.
   * @throws {BatchCorrError} With code "invalid_snapshot" for a wrong format or
   * version, missing or extra keys, `__proto__` keys, arrays of the wrong length,
   * non-finite or negative values, a mean's low part larger than 2⁻⁴⁰ of the
   * mean, or a shape other than `expected`; with code
   * "resource_limit" for a declared F·M above `expected.maxElements` (checked
   * before allocating).
   *
   * @example Rejecting a corrupted snapshot
   * ```ts
   * import { BatchCorrError, CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const snapshot = new CorrelationAccumulator().update([[1], [2]], [1, 3]).toJSON();
   * assert.throws(() => CorrelationAccumulator.fromJSON({ ...snapshot, version: 99 }),
   *   (e) => e instanceof BatchCorrError && e.code === "invalid_snapshot");
   * ```
   */
  static fromJSON(json: unknown, expected?: AccumulatorOptions): CorrelationAccumulator {
    const expectations = toExpectations(expected);
    return CorrelationAccumulator.#fromState(decodeSnapshotJSON(json, expectations), expectations.maxElements);
  }

  /**
   * A compact binary snapshot: magic "BCAS", version, dimensions, then the
   * state as little-endian float64 (exact, unlike decimal text).
   *
   * @returns The bytes.
   *
   * @example A binary round trip
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const acc = new CorrelationAccumulator().update([[1, 0], [2, 5], [4, 1]], [1, 3, 2]);
   * const restored = CorrelationAccumulator.fromBytes(acc.toBytes());
   * assert.deepEqual(restored.moments(), acc.moments());
   * ```
   */
  toBytes(): Uint8Array {
    return encodeSnapshotBytes(this.#snapshotState());
  }

  /**
   * Restores an accumulator from {@linkcode CorrelationAccumulator.toBytes}.
   *
   * @param bytes The snapshot.
   * @param expected Optionally, the feature shape and confounds the snapshot
   * must have, and `maxElements`, the largest F·M it may declare.
   * @returns The restored accumulator.
   * @throws {BatchCorrError} With code "invalid_snapshot" for a wrong magic or
   * version, truncated or extra bytes, non-finite or negative values, a
   * mean's low part larger than 2⁻⁴⁰ of the mean, or a shape other than
   * `expected`; with code "resource_limit" for a declared F·M
   * above `expected.maxElements` (checked before allocating).
   *
   * @example Detecting truncation
   * ```ts
   * import { BatchCorrError, CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const bytes = new CorrelationAccumulator().update([[1], [2]], [1, 3]).toBytes();
   * assert.throws(() => CorrelationAccumulator.fromBytes(bytes.subarray(0, bytes.length - 8)),
   *   (e) => e instanceof BatchCorrError && e.code === "invalid_snapshot");
   * ```
   */
  static fromBytes(bytes: Uint8Array, expected?: AccumulatorOptions): CorrelationAccumulator {
    const expectations = toExpectations(expected);
    return CorrelationAccumulator.#fromState(decodeSnapshotBytes(bytes, expectations), expectations.maxElements);
  }

  static #fromState(snapshot: SnapshotState, maxElements: number): CorrelationAccumulator {
    const options: AccumulatorOptions = { maxElements };
    if (snapshot.featureShape) options.featureShape = snapshot.featureShape;
    if (snapshot.confounds !== undefined) options.confounds = snapshot.confounds;
    const accumulator = new CorrelationAccumulator(options);
    if (snapshot.moments && accumulator.#state) copyMoments(snapshot.moments, accumulator.#state);
    accumulator.#weightSquares = snapshot.weightSquares;
    return accumulator;
  }

  #snapshotState(): SnapshotState {
    return {
      featureShape: this.#featureShape ? [...this.#featureShape] : undefined,
      confounds: this.#confounds,
      weightSquares: this.#weightSquares,
      moments: this.#state,
    };
  }

  #setFeatureShape(shape: readonly number[]): void {
    this.#featureShape = [...shape];
    this.#order = featureOrder([1, ...shape]);
  }

  #allocateIfShaped(): void {
    if (this.#state || !this.#featureShape || this.#confounds === undefined) return;
    const F = this.features, M = this.#confounds;
    this.#state = emptyPreciseMoments(F, M);
    this.#spare = emptyPreciseMoments(F, M);
  }

  #checkShape(featureShape: readonly number[], confounds: number, context: string): void {
    if (this.#featureShape && !sameShape(this.#featureShape, featureShape)) {
      throw new TypeError(
        `Cannot ${context} as the feature shape (X's shape without the batch axis) must be ${shapeText(this.#featureShape)}, as in earlier batches: current value is ${shapeText(featureShape)}`,
      );
    }
    if (this.#confounds !== undefined && this.#confounds !== confounds) {
      throw new TypeError(ruleMessage(context, "the number of confounds", `${this.#confounds}, as in earlier batches`, confounds));
    }
  }

  #stage(
    moments: PreciseMoments,
    featureShape: readonly number[],
    weightSquares: number,
    decay: number,
    context: string,
  ): Staged {
    this.#checkShape(featureShape, moments.confounds, context);
    const F = moments.features, M = moments.confounds;
    const stale = this.#state && !this.#featureShape && (this.#state.features !== F || this.#state.confounds !== M);
    if (!this.#state || stale) {
      checkElementLimit(F, M, this.#maxElements, context, "the accumulator's maxElements option");
      // Storage only (the state is still empty): the shape itself is fixed on commit.
      this.#state = emptyPreciseMoments(F, M);
      this.#spare = emptyPreciseMoments(F, M);
    }
    const spare = this.#spare!;
    if (decay === 1) {
      mergeChecked(this.#state, moments, spare, context);
    } else {
      // With forgetting, a variance that fades towards 0 is the intended answer, not a loss of range.
      scaleMoments(this.#state, decay, spare);
      mergeMoments(spare, moments, spare);
      checkMergedFinite(spare, context);
    }
    this.#staged = {
      moments: spare,
      weightSquares: this.#weightSquares * decay * decay + weightSquares,
      featureShape: [...featureShape],
    };
    return this.#staged;
  }

  #commit(): void {
    const staged = this.#staged;
    if (!staged) return;
    if (!this.#featureShape) this.#setFeatureShape(staged.featureShape);
    if (this.#confounds === undefined) this.#confounds = staged.moments.confounds;
    this.#spare = this.#state;
    this.#state = staged.moments;
    this.#weightSquares = staged.weightSquares;
    this.#staged = undefined;
  }
}

function toExpectations(expected: AccumulatorOptions | undefined): SnapshotExpectations {
  const parsed = parseOptions(accumulatorOptionsSchema, expected, "restore CorrelationAccumulator", ACCUMULATOR_RULES);
  return { featureShape: parsed.featureShape, confounds: parsed.confounds, maxElements: parsed.maxElements };
}

const RANGE_ADVICE =
  "a running state keeps one scale and cannot rescale as batchCorr does: keep each column's deviations between about 1e-124 and 1e153 in magnitude (correlations are scale-invariant, so rescaling the data changes nothing else)";

/**
 * Throws unless every element is finite and every column's sum of squared
 * deviations is usable by a running state (no overflow to Infinity, no
 * underflow of a varying column to 0 or subnormals, which would report it as
 * zero-variance and its correlations as 0 where batchCorr, which rescales,
 * finds the true value).
 *
 * @param batch The batch.
 * @param moments Its moments.
 * @param context What was being done.
 * @param names The argument names for messages.
 * @throws {RangeError} Naming the argument, the column and the rule.
 */
export function assertAccumulable(
  batch: PreparedBatch,
  moments: BatchMoments,
  context: string,
  names: readonly [string, string],
): void {
  if (allColumnsUsable(moments)) return;
  assertFiniteBatch(batch, moments, context, names);
  const column = findUnrepresentableColumn(batch, moments);
  if (!column) return;
  const what = column.side === "features" ? `feature column ${column.index} of ${names[0]}` : `confound ${column.index} of ${names[1]}`;
  const how = column.kind === "overflow" ? "overflows float64 range (its sum of squares is Infinity)" : "underflows (its sum of squares is below 1e-250 though it varies)";
  throw new RangeError(
    `Cannot ${context} as the squared deviations of every column must stay within float64 range: ${what} ${how}; ${RANGE_ADVICE}`,
  );
}

/**
 * Whether every mean is finite and every sum of squares is within
 * [`UNDERFLOW_RISK`, Infinity): then neither check of
 * {@linkcode assertAccumulable} can find anything, and one pass over the
 * moments replaces their two (constant columns, with a sum of squares of 0,
 * take the full checks).
 */
function allColumnsUsable(moments: BatchMoments): boolean {
  return columnsUsable(moments.meanX, moments.m2X) && columnsUsable(moments.meanN, moments.m2N);
}

function columnsUsable(means: Float64Array, m2: Float64Array): boolean {
  let poison = 0;
  for (let i = 0; i < m2.length; i++) {
    const ss = m2[i]!, mean = means[i]!;
    if (!(ss >= UNDERFLOW_RISK)) return false;
    poison += (ss - ss) + (mean - mean);
  }
  return poison === 0;
}

/**
 * Throws if merging `b` into `a` would leave a varying column with a sum of
 * squares that underflowed: samples that differ by less than about 1e-125,
 * e.g. batches of one sample each.
 */
function checkMergeUnderflow(a: PreciseMoments, b: PreciseMoments, context: string): void {
  if (a.count === 0 || b.count === 0) return;
  const k = a.count * b.count / (a.count + b.count);
  const check = (
    m2A: Float64Array,
    m2B: Float64Array,
    [meanA, loA]: [Float64Array, Float64Array | undefined],
    [meanB, loB]: [Float64Array, Float64Array | undefined],
    side: string,
  ): void => {
    for (let i = 0; i < m2A.length; i++) {
      const delta = meanDifference(meanA[i]!, loA?.[i] ?? 0, meanB[i]!, loB?.[i] ?? 0);
      const varies = delta !== 0 || m2A[i]! > 0 || m2B[i]! > 0;
      if (varies && m2A[i]! + m2B[i]! + k * delta * delta < UNDERFLOW_RISK) {
        throw new RangeError(
          `Cannot ${context} as the squared deviations of every column must stay within float64 range: ${side} ${i} underflows when merged with the state (its sum of squares is below 1e-250 though it varies); ${RANGE_ADVICE}`,
        );
      }
    }
  };
  check(a.m2X, b.m2X, [a.meanX, a.meanXLo], [b.meanX, b.meanXLo], "feature column");
  check(a.m2N, b.m2N, [a.meanN, a.meanNLo], [b.meanN, b.meanNLo], "confound");
}

/**
 * A merged sum of squares at or above this cannot be one that
 * {@linkcode checkMergeUnderflow} refuses (its threshold is half of it), even
 * though the check rounds its weight `nA·nB/n` differently from the merge.
 */
const UNDERFLOW_SUSPECT = 2 * UNDERFLOW_RISK;

/**
 * `mergeMoments(a, b, out)` (with `out` not `a`) followed by
 * {@linkcode checkMergeUnderflow} and {@linkcode checkMergedFinite}, with the
 * checks folded into the merge's single pass: a stream merges every batch
 * into its running state, and three passes over the state cost more than the
 * merge itself. The merged values are those of `mergeMoments`, operation for
 * operation; a column that might underflow sends the original check over the
 * inputs, so the same column is reported with the same message. Nothing is
 * written outside `out`, so a throw leaves `a` as it was.
 */
function mergeChecked(
  a: BatchMoments & MeanLowParts,
  b: PreciseMoments,
  out: BatchMoments & MeanLowParts,
  context: string,
): void {
  const nA = a.count, nB = b.count, n = nA + nB;
  if (nA === 0 || nB === 0) {
    mergeMoments(a, b, out);
    checkMergedFinite(out, context);
    return;
  }
  const F = a.features, M = a.confounds;
  const shareB = nB / n;
  const k = nA * shareB;
  const deltaN = new Float64Array(M);
  const loNB = b.meanNLo, loXB = b.meanXLo;
  for (let m = 0; m < M; m++) deltaN[m] = meanDifference(a.meanN[m]!, a.meanNLo[m]!, b.meanN[m]!, loNB ? loNB[m]! : 0);
  const { meanX: hiXA, meanXLo: loXA, m2X: m2XA, comoment: cA } = a;
  const { meanX: hiXB, m2X: m2XB, comoment: cB } = b;
  const { meanX: hiOut, meanXLo: loOut, m2X: m2Out, comoment: cOut } = out;
  let suspect = false;
  // Stays 0 while every merged mean and sum of squares is finite (x − x is NaN for ±Infinity and NaN).
  let poison = 0;
  const dn0 = deltaN[0]!;
  for (let f = 0; f < F; f++) {
    const hiA = hiXA[f]!, loA = loXA[f]!;
    const dx = meanDifference(hiA, loA, hiXB[f]!, loXB ? loXB[f]! : 0);
    const kdx = k * dx;
    if (M === 1) {
      cOut[f] = cA[f]! + cB[f]! + kdx * dn0;
    } else {
      const base = f * M;
      for (let m = 0; m < M; m++) cOut[base + m] = cA[base + m]! + cB[base + m]! + kdx * deltaN[m]!;
    }
    const m2A = m2XA[f]!, m2B = m2XB[f]!;
    const m2 = m2A + m2B + kdx * dx;
    m2Out[f] = m2;
    if (!(m2 >= UNDERFLOW_SUSPECT) && (dx !== 0 || m2A > 0 || m2B > 0)) suspect = true;
    addToMean(hiOut, loOut, f, hiA, loA, dx * shareB);
    const mean = hiOut[f]!;
    poison += (mean - mean) + (m2 - m2);
  }
  for (let m = 0; m < M; m++) {
    const dn = deltaN[m]!;
    const m2A = a.m2N[m]!, m2B = b.m2N[m]!;
    const m2 = m2A + m2B + k * dn * dn;
    out.m2N[m] = m2;
    if (!(m2 >= UNDERFLOW_SUSPECT) && (dn !== 0 || m2A > 0 || m2B > 0)) suspect = true;
    addToMean(out.meanN, out.meanNLo, m, a.meanN[m]!, a.meanNLo[m]!, dn * shareB);
    const mean = out.meanN[m]!;
    poison += (mean - mean) + (m2 - m2);
  }
  out.count = n;
  if (suspect) checkMergeUnderflow(a, b, context);
  if (poison !== 0) checkMergedFinite(out, context);
}

function checkMergedFinite(moments: BatchMoments, context: string): void {
  const vectors = [moments.meanX, moments.meanN, moments.m2X, moments.m2N];
  for (const vector of vectors) {
    for (let i = 0; i < vector.length; i++) {
      if (!Number.isFinite(vector[i]!)) {
        throw new RangeError(
          `Cannot ${context} as the merged means and sums of squares must be within float64 range: the batch's values overflow when merged with the state`,
        );
      }
    }
  }
}

function checkMoments(moments: BatchMoments, context: string): void {
  if (typeof moments !== "object" || moments === null) {
    throw new TypeError(ruleMessage(context, "moments", "a BatchMoments object", moments));
  }
  const { count, features, confounds } = moments;
  if (typeof features !== "number" || !Number.isInteger(features) || features < 1) {
    throw new TypeError(ruleMessage(context, "moments.features", "a positive integer", features));
  }
  if (typeof confounds !== "number" || !Number.isInteger(confounds) || confounds < 1) {
    throw new TypeError(ruleMessage(context, "moments.confounds", "a positive integer", confounds));
  }
  if (typeof count !== "number") throw new TypeError(ruleMessage(context, "moments.count", "a number", count));
  if (!(count >= 0 && Number.isFinite(count))) {
    throw new RangeError(ruleMessage(context, "moments.count", "a finite non-negative number", count));
  }
  const lengths = { meanX: features, meanN: confounds, m2X: features, m2N: confounds, comoment: features * confounds };
  for (const [key, length] of Object.entries(lengths)) {
    const values: unknown = moments[key as keyof typeof lengths];
    if (!(values instanceof Float64Array || values instanceof Float32Array) || values.length !== length) {
      throw new TypeError(ruleMessage(context, `moments.${key}`, `a Float64Array of length ${length}`, values));
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v) || ((key === "m2X" || key === "m2N") && v < 0)) {
        throw new RangeError(
          ruleMessage(context, `every element of moments.${key}`, key.startsWith("m2") ? "finite and non-negative" : "finite", v) +
            ` at index ${i}`,
        );
      }
    }
  }
}
