/**
 * The online correlation state of SPEC section 4: count, means, sums of
 * squared deviations and the feature × confound co-moment, updated batch by
 * batch with Chan et al.'s parallel merge.
 *
 * @module
 */

import { z } from "zod";
import { type BatchCorrOptions, type BatchCorrResult, resolveTol } from "./batch_corr.ts";
import { ruleMessage } from "./errors.ts";
import { type BatchMoments, computeBatchMoments, emptyMoments } from "./moments.ts";
import { batchCorrOptionsSchema, parseOptions } from "./options.ts";
import { assertFiniteBatch, type PreparedBatch, prepareBatch } from "./prepare_batch.ts";
import {
  type AccumulatorSnapshot,
  decodeSnapshotBytes,
  decodeSnapshotJSON,
  encodeSnapshotBytes,
  encodeSnapshotJSON,
  type SnapshotExpectations,
  type SnapshotState,
} from "./snapshot.ts";
import { featureOrder, type TensorLike } from "./tensor.ts";
import { countZeros, pearsonFromMoments, softThreshold, type ZeroVariancePolicy } from "./threshold.ts";

export type { AccumulatorSnapshot } from "./snapshot.ts";

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
}

const accumulatorOptionsSchema = z.strictObject({
  featureShape: z.array(z.number().int().positive()).optional(),
  confounds: z.number().int().positive().optional(),
});

const ACCUMULATOR_RULES: Record<string, string> = {
  featureShape: "an array of positive integers",
  confounds: "a positive integer",
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
 * `1e9 + noise` keep their digits. The formula is symmetric in A and B, which
 * makes merging associative and order independent up to rounding. Counts may
 * be weights (the same algebra holds with `n` a sum of weights), which is how
 * exponential forgetting scales a state before merging.
 *
 * When both means agree exactly (`δ = 0`), nothing is added: exactly constant
 * columns keep a sum of squares of exactly 0 across merges, provided each
 * batch reports the constant itself as its mean (see `pinConstantMeans`).
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
  a: BatchMoments,
  b: BatchMoments,
  out: BatchMoments = emptyMoments(a.features, a.confounds),
): BatchMoments {
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
  for (let m = 0; m < M; m++) deltaN[m] = b.meanN[m]! - a.meanN[m]!;
  for (let f = 0; f < F; f++) {
    const dx = b.meanX[f]! - a.meanX[f]!;
    const kdx = k * dx;
    const base = f * M;
    for (let m = 0; m < M; m++) {
      out.comoment[base + m] = a.comoment[base + m]! + b.comoment[base + m]! + kdx * deltaN[m]!;
    }
    out.m2X[f] = a.m2X[f]! + b.m2X[f]! + kdx * dx;
    out.meanX[f] = a.meanX[f]! + dx * shareB;
  }
  for (let m = 0; m < M; m++) {
    const dn = deltaN[m]!;
    out.m2N[m] = a.m2N[m]! + b.m2N[m]! + k * dn * dn;
    out.meanN[m] = a.meanN[m]! + dn * shareB;
  }
  out.count = n;
  return out;
}

/** Copies moments into `out` (a no-op when they are the same object). */
export function copyMoments(source: BatchMoments, out: BatchMoments): BatchMoments {
  if (source === out) return out;
  out.count = source.count;
  out.meanX.set(source.meanX);
  out.meanN.set(source.meanN);
  out.m2X.set(source.m2X);
  out.m2N.set(source.m2N);
  out.comoment.set(source.comoment);
  return out;
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
export function scaleMoments(source: BatchMoments, factor: number, out: BatchMoments): BatchMoments {
  if (factor === 1) return copyMoments(source, out);
  out.count = source.count * factor;
  out.meanX.set(source.meanX);
  out.meanN.set(source.meanN);
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
export function pinConstantMeans(moments: BatchMoments, batch: PreparedBatch): BatchMoments {
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
 * same operations as `batchCorr`, so the numbers are identical.
 *
 * @param moments The state, features in natural order.
 * @param order The feature permutation, or undefined.
 * @param tol The resolved tolerance.
 * @param abs Whether to drop the sign.
 * @param zeroVariance The 0/0 policy.
 * @param out Storage of length F·M for the result.
 * @param scratch Storage of length F·M used when the rows are permuted.
 * @returns `out`.
 */
export function thresholdedFromMoments(
  moments: BatchMoments,
  order: Int32Array | undefined,
  tol: number,
  abs: boolean,
  zeroVariance: ZeroVariancePolicy,
  out: Float64Array,
  scratch?: Float64Array,
): Float64Array {
  if (!order) {
    pearsonFromMoments(moments, zeroVariance, out);
  } else {
    const raw = pearsonFromMoments(moments, zeroVariance, scratch);
    const M = moments.confounds;
    for (let f = 0; f < order.length; f++) {
      const source = order[f]! * M;
      out.set(raw.subarray(source, source + M), f * M);
    }
  }
  return softThreshold(out, tol, abs, out);
}

/**
 * Builds a {@linkcode BatchCorrResult} from moments (one new array of F·M).
 *
 * @param moments The state.
 * @param order The feature permutation, or undefined.
 * @param tol The resolved tolerance.
 * @param abs Whether to drop the sign.
 * @param zeroVariance The 0/0 policy.
 * @param scratch Storage of length F·M used when the rows are permuted.
 * @returns The result.
 */
export function resultFromMoments(
  moments: BatchMoments,
  order: Int32Array | undefined,
  tol: number,
  abs: boolean,
  zeroVariance: ZeroVariancePolicy,
  scratch?: Float64Array,
): BatchCorrResult {
  const data = new Float64Array(moments.features * moments.confounds);
  return {
    data: thresholdedFromMoments(moments, order, tol, abs, zeroVariance, data, scratch),
    shape: [moments.features, moments.confounds],
    tol,
    zeroVarianceFeatures: countZeros(moments.m2X),
    zeroVarianceConfounds: countZeros(moments.m2N),
  };
}

/** A merge computed but not yet applied, so a failure leaves the state as it was. */
export interface Staged {
  /** The merged state (the accumulator's spare buffer). */
  moments: BatchMoments;
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
  moments: BatchMoments,
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
 * it was, so it can still be snapshotted.
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
  #state: BatchMoments | undefined;
  #spare: BatchMoments | undefined;
  #scratch: BatchMoments | undefined;
  #weightSquares = 0;
  #staged: Staged | undefined;

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
   * @param options The feature shape and number of confounds, when known in advance.
   * @throws {TypeError} If an option has the wrong type or is unknown.
   * @throws {RangeError} If an extent or the number of confounds is not a positive integer.
   */
  constructor(options?: AccumulatorOptions) {
    const parsed = parseOptions(accumulatorOptionsSchema, options, "create CorrelationAccumulator", ACCUMULATOR_RULES);
    if (parsed.featureShape) this.#setFeatureShape(parsed.featureShape);
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
   * @throws {RangeError} If the batch is empty or holds NaN or ±Infinity, or the
   * merged sums of squares overflow float64. The state is unchanged.
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
    const batch = prepareBatch(x, n, context);
    this.#checkShape(batch.featureShape, batch.confounds, context);
    const scratch = this.#scratch?.features === batch.features && this.#scratch.confounds === batch.confounds
      ? this.#scratch
      : emptyMoments(batch.features, batch.confounds);
    const moments = computeBatchMoments(batch.x, batch.n, batch.count, batch.features, batch.confounds, scratch);
    assertFiniteBatch(batch, moments, context, ["x", "n"]);
    pinConstantMeans(moments, batch);
    this.#stage(moments, batch.featureShape, batch.count, 1, context);
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
    this.#stage(moments, shape, moments.count, 1, context);
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
    const tol = resolveTol(resolved.tol, resolved.tolSig, this.effectiveCount, context);
    return resultFromMoments(state, this.#order, tol, resolved.abs, resolved.zeroVariance);
  }

  /**
   * A copy of the state, features in the natural column order of X.
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
    return CorrelationAccumulator.#fromState(this.#snapshotState());
  }

  /**
   * A versioned plain-JSON snapshot of the state (every number finite), for
   * `JSON.stringify` and {@linkcode CorrelationAccumulator.fromJSON}.
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
   * @param expected Optionally, the feature shape and confounds the snapshot must have.
   * @returns The restored accumulator.
   * @throws {BatchCorrError} With code "invalid_snapshot" for a wrong format or
   * version, missing or extra keys, `__proto__` keys, arrays of the wrong length,
   * non-finite or negative values, or a shape other than `expected`.
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
    return CorrelationAccumulator.#fromState(decodeSnapshotJSON(json, toExpectations(expected)));
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
   * @param expected Optionally, the feature shape and confounds the snapshot must have.
   * @returns The restored accumulator.
   * @throws {BatchCorrError} With code "invalid_snapshot" for a wrong magic or
   * version, truncated or extra bytes, non-finite or negative values, or a
   * shape other than `expected`.
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
    return CorrelationAccumulator.#fromState(decodeSnapshotBytes(bytes, toExpectations(expected)));
  }

  static #fromState(snapshot: SnapshotState): CorrelationAccumulator {
    const options: AccumulatorOptions = {};
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
    this.#state = emptyMoments(F, M);
    this.#spare = emptyMoments(F, M);
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
    moments: BatchMoments,
    featureShape: readonly number[],
    weightSquares: number,
    decay: number,
    context: string,
  ): Staged {
    this.#checkShape(featureShape, moments.confounds, context);
    const F = moments.features, M = moments.confounds;
    const stale = this.#state && !this.#featureShape && (this.#state.features !== F || this.#state.confounds !== M);
    if (!this.#state || stale) {
      // Storage only (the state is still empty): the shape itself is fixed on commit.
      this.#state = emptyMoments(F, M);
      this.#spare = emptyMoments(F, M);
    }
    const spare = this.#spare!;
    scaleMoments(this.#state, decay, spare);
    mergeMoments(spare, moments, spare);
    checkMergedFinite(spare, context);
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
  return { featureShape: parsed.featureShape, confounds: parsed.confounds };
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
