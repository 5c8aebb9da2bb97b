/**
 * The online correlation state of SPEC section 4: count, means, sums of
 * squared deviations and the feature × confound co-moment, updated batch by
 * batch with Chan et al.'s parallel merge, and snapshotted as JSON or bytes.
 *
 * @module
 */

import { resolveTol } from "../core/auto_tol.ts";
import { type BatchMoments, emptyMoments } from "../core/batch_moments.ts";
import { batchCorrOptionsSchema, type BatchCorrOptions, OPTION_RULES } from "../core/batch_corr_options.ts";
import { type BatchCorrResult, resultFromMoments } from "../core/correlation_view.ts";
import { type BatchCorrError, ruleMessage, shapeText } from "../core/errors.ts";
import { checkElementLimit } from "../core/limits.ts";
import { copyMoments } from "../core/moment_algebra.ts";
import { parseOptions } from "../core/parse_options.ts";
import { type PreciseMoments, withoutLowParts } from "../core/precise_means.ts";
import { prepareBatch } from "../core/prepare_batch.ts";
import type { TensorLike } from "../core/tensor.ts";
import { type AccumulableMoments, momentsOfBatch } from "./accumulable_moments.ts";
import { type CorrelationAccumulatorOptions, parseAccumulatorOptions } from "./correlation_accumulator_options.ts";
import { AccumulatorState } from "./_accumulator_state.ts";
import { checkMoments } from "./_check_moments.ts";
import { decodeSnapshotBytes, encodeSnapshotBytes } from "./_snapshot_bytes.ts";
import type { DecodeResult } from "./_snapshot_rules.ts";
import { type AccumulatorSnapshot, decodeSnapshotJSON, encodeSnapshotJSON } from "./snapshot_json.ts";
import type { StagedMerge, StageOptions } from "./staged_merge.ts";

/** What `safeFromJSON` and `safeFromBytes` return: the accumulator, or why there is none. */
type RestoreResult = { success: true; data: CorrelationAccumulator } | { success: false; error: BatchCorrError };

function orThrow(result: RestoreResult): CorrelationAccumulator {
  if (!result.success) throw result.error;
  return result.data;
}

/**
 * The running correlation state of a stream: everything needed to give the
 * correlation of every feature with every confound over all samples seen so
 * far, in O(F·M) memory however many samples that is.
 *
 * Each batch is centred on its own means first (two-pass), then merged with
 * Chan et al.'s parallel update (see `mergeMoments`), so data such
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
  #core: AccumulatorState;
  #scratch: PreciseMoments | undefined;

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
  constructor(options?: CorrelationAccumulatorOptions) {
    const context = "create CorrelationAccumulator";
    const { featureShape, confounds, maxElements } = parseAccumulatorOptions(options, context);
    const features = featureShape ? featureShape.reduce((a, b) => a * b, 1) : 1;
    if (featureShape || confounds !== undefined) checkElementLimit(features, confounds ?? 1, maxElements, context);
    this.#core = new AccumulatorState(maxElements, featureShape, confounds);
  }

  /**
   * Samples folded in so far (with exponential forgetting, the sum of weights).
   *
   * @returns The count.
   */
  get count(): number {
    return this.#core.count;
  }

  /**
   * The effective sample size `(Σw)² / Σw²` used for `tol: "auto"`; equal to
   * {@linkcode CorrelationAccumulator.count} when every sample has weight 1.
   *
   * @returns The effective count.
   */
  get effectiveCount(): number {
    return this.#core.effectiveCount;
  }

  /**
   * The number of features F, or 0 until the feature shape is known.
   *
   * @returns F.
   */
  get features(): number {
    return this.#core.features;
  }

  /**
   * The number of confounds M, or 0 until it is known.
   *
   * @returns M.
   */
  get confounds(): number {
    return this.#core.confounds ?? 0;
  }

  /**
   * The shape of one sample's features, or undefined until the first update.
   *
   * @returns A copy of the shape.
   */
  get featureShape(): number[] | undefined {
    const shape = this.#core.featureShape;
    return shape ? [...shape] : undefined;
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
    const batch = prepareBatch(x, n, context, ["x", "n"], this.#core.maxElements);
    this.#core.checkShape(batch.featureShape, batch.confounds, context);
    const moments = momentsOfBatch(batch, context, ["x", "n"], this.#scratch);
    this.#core.stage(moments, batch.featureShape, batch.count, 1, context).commit();
    this.#scratch = moments;
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
    const shape = featureShape ?? this.featureShape ?? [moments.features];
    if (!Array.isArray(shape) || !shape.every((e) => Number.isInteger(e) && e > 0)) {
      throw new TypeError(ruleMessage(context, "featureShape", "an array of positive integers", shape));
    }
    if (shape.reduce((a, b) => a * b, 1) !== moments.features) {
      throw new TypeError(
        `Cannot ${context} as featureShape must hold moments.features (${moments.features}) features: current value is ${shapeText(shape)}`,
      );
    }
    this.#core.checkShape(shape, moments.confounds, context);
    // The means are taken as float64 values: low parts are this library's own state.
    this.#core.stage(withoutLowParts(moments), shape, moments.count, 1, context).commit();
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
    const theirs = other.#core;
    const otherState = theirs.moments;
    if (theirs.featureShape && theirs.confounds !== undefined) {
      this.#core.checkShape(theirs.featureShape, theirs.confounds, context);
    }
    if (!otherState || otherState.count === 0 || !theirs.featureShape) return this;
    this.#core.stage(otherState, theirs.featureShape, theirs.weightSquares, 1, context).commit();
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
    const resolved = parseOptions(batchCorrOptionsSchema, options, context, OPTION_RULES);
    const state = this.#core.moments;
    if (!state || state.count === 0) {
      throw new RangeError(ruleMessage(context, "the accumulator's count", "positive (update it with a batch first)", 0));
    }
    checkElementLimit(state.features, state.confounds, resolved.maxElements, context);
    const tol = resolveTol(resolved.tol, resolved.tolSig, this.effectiveCount, context);
    return resultFromMoments(state, this.#core.order, { tol, abs: resolved.abs, zeroVariance: resolved.zeroVariance });
  }

  /**
   * Stages the merge of a batch's moments without applying it: the streams
   * compute every view from the staged state and commit only when all of it
   * succeeded. Package-internal: the moments must come from
   * `momentsOfBatch` or `acceptMoments`, which checked them.
   *
   * @param moments The batch's checked moments (unit-weight samples).
   * @param options The batch's feature shape, the decay applied to the state
   * first, and the context for messages.
   * @returns The staged merge; commit it to apply it, or drop it.
   * @throws {TypeError} If the shape differs from the accumulator's.
   * @throws {RangeError} If the merge underflows or overflows float64.
   * @throws {BatchCorrError} With code "resource_limit" if F·M exceeds `maxElements`.
   * @ignore
   */
  stage(moments: AccumulableMoments, options: StageOptions): StagedMerge {
    return this.#core.stage(moments, options.featureShape, moments.count, options.decay ?? 1, options.context);
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
    const state = this.#core.moments;
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
    return CorrelationAccumulator.#of(AccumulatorState.fromSnapshot(this.#core.snapshot, this.#core.maxElements));
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
    return encodeSnapshotJSON(this.#core.snapshot);
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
  static fromJSON(json: unknown, expected?: CorrelationAccumulatorOptions): CorrelationAccumulator {
    return orThrow(CorrelationAccumulator.safeFromJSON(json, expected));
  }

  /**
   * {@linkcode CorrelationAccumulator.fromJSON} for untrusted input: the same
   * validation, with a refused snapshot returned rather than thrown (as zod's
   * `safeParse` beside `parse`).
   *
   * @param json The snapshot or its JSON text.
   * @param expected As {@linkcode CorrelationAccumulator.fromJSON}.
   * @returns `{ success: true, data }` with the restored accumulator, or
   * `{ success: false, error }` with the `BatchCorrError` that `fromJSON`
   * would throw ("invalid_snapshot" or "resource_limit").
   * @throws {TypeError} If `expected` is not valid options (the snapshot never throws).
   * @throws {RangeError} If a number in `expected` is out of range.
   *
   * @example Checking a snapshot from the network
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const result = CorrelationAccumulator.safeFromJSON('{"format": "batch-corr/accumulator", "version": 7}');
   * assert.equal(result.success, false);
   * if (!result.success) assert.equal(result.error.code, "invalid_snapshot");
   * const good = CorrelationAccumulator.safeFromJSON(new CorrelationAccumulator().update([[1], [2]], [1, 3]).toJSON());
   * assert.ok(good.success && good.data.count === 2);
   * ```
   */
  static safeFromJSON(
    json: unknown,
    expected?: CorrelationAccumulatorOptions,
  ): { success: true; data: CorrelationAccumulator } | { success: false; error: BatchCorrError } {
    const expectations = parseAccumulatorOptions(expected, "restore CorrelationAccumulator");
    return CorrelationAccumulator.#restored(decodeSnapshotJSON(json, expectations), expectations.maxElements);
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
    return encodeSnapshotBytes(this.#core.snapshot);
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
  static fromBytes(bytes: Uint8Array, expected?: CorrelationAccumulatorOptions): CorrelationAccumulator {
    return orThrow(CorrelationAccumulator.safeFromBytes(bytes, expected));
  }

  /**
   * {@linkcode CorrelationAccumulator.fromBytes} for untrusted input: the same
   * validation, with a refused snapshot returned rather than thrown.
   *
   * @param bytes The snapshot.
   * @param expected As {@linkcode CorrelationAccumulator.fromBytes}.
   * @returns `{ success: true, data }` with the restored accumulator, or
   * `{ success: false, error }` with the `BatchCorrError` that `fromBytes`
   * would throw ("invalid_snapshot" or "resource_limit").
   * @throws {TypeError} If `expected` is not valid options (the snapshot never throws).
   * @throws {RangeError} If a number in `expected` is out of range.
   *
   * @example Refusing truncated bytes without a try
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const bytes = new CorrelationAccumulator().update([[1], [2]], [1, 3]).toBytes();
   * const result = CorrelationAccumulator.safeFromBytes(bytes.subarray(0, 20));
   * assert.ok(!result.success && /truncated/.test(result.error.message));
   * ```
   */
  static safeFromBytes(
    bytes: Uint8Array,
    expected?: CorrelationAccumulatorOptions,
  ): { success: true; data: CorrelationAccumulator } | { success: false; error: BatchCorrError } {
    const expectations = parseAccumulatorOptions(expected, "restore CorrelationAccumulator");
    return CorrelationAccumulator.#restored(decodeSnapshotBytes(bytes, expectations), expectations.maxElements);
  }

  static #restored(decoded: DecodeResult, maxElements: number): RestoreResult {
    if (!decoded.success) return decoded;
    return { success: true, data: CorrelationAccumulator.#of(AccumulatorState.fromSnapshot(decoded.data, maxElements)) };
  }

  static #of(core: AccumulatorState): CorrelationAccumulator {
    const accumulator = new CorrelationAccumulator({ maxElements: core.maxElements });
    accumulator.#core = core;
    return accumulator;
  }
}
