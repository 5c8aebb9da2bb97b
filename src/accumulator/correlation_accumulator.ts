/**
 * The online correlation state of SPEC section 4: count, means, sums of
 * squared deviations and the feature × confound co-moment, updated batch by
 * batch with Chan et al.'s parallel merge, and snapshotted as JSON or bytes.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import {
  type BatchCorrOptions,
  batchCorrOptionsSchema,
  OPTION_RULES,
} from "../core/batch_corr_options.ts";
import type { BatchCorrResult } from "../core/correlation_view.ts";
import { BatchCorrError, ruleMessage } from "../core/errors.ts";
import { readProperty } from "../core/own_properties.ts";
import { parseOptions } from "../core/parse_options.ts";
import { type PreciseMoments, withoutLowParts } from "../core/precise_means.ts";
import { prepareBatch } from "../core/prepare_batch.ts";
import type { TensorLike } from "../core/tensor.ts";
import { type AccumulableMoments, momentsOfBatch } from "./accumulable_moments.ts";
import {
  type CorrelationAccumulatorOptions,
  type MergeOptions,
  parseAccumulatorOptions,
  parseMergeOptions,
} from "./correlation_accumulator_options.ts";
import { AccumulatorState } from "./_accumulator_state.ts";
import { checkMoments, checkMomentsShape } from "./_check_moments.ts";
import { decodeSnapshotBytes, encodeSnapshotBytes } from "./_snapshot_bytes.ts";
import { orThrow, type Restored, restoreState } from "./_restore_state.ts";
import {
  type AccumulatorSnapshot,
  decodeSnapshotJSON,
  encodeSnapshotJSON,
} from "./snapshot_json.ts";
import type { StagedMerge, StageOptions } from "./staged_merge.ts";

/**
 * The running correlation state of a stream: the correlation of every feature
 * with every confound over all samples seen so far, in O(F·M) memory.
 *
 * Each batch is centred on its own means (two-pass), then merged with Chan et
 * al.'s parallel update, so `1e9 + noise` keeps its precision and states from
 * different workers merge to the one-pass answer, up to rounding. NaN and
 * ±Infinity are refused, and so is a column whose squared deviations overflow
 * (beyond about 1e153) or underflow (below about 1e-124), which a running
 * state cannot rescale as `batchCorr` does; a refused update leaves the state
 * exactly as it was.
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
   * @param options The feature shape and M, when known in advance, and the cap on F·M.
   * @throws {TypeError} If an option has the wrong type or is unknown.
   * @throws {RangeError} If an extent or M is not a positive integer.
   * @throws {BatchCorrError} "resource_limit" if the shape has more than `maxElements` F·M entries.
   */
  constructor(options?: CorrelationAccumulatorOptions) {
    const context = "create CorrelationAccumulator";
    this.#core = AccumulatorState.empty(parseAccumulatorOptions(options, context), context);
  }

  /**
   * Samples folded in so far (with exponential forgetting, the sum of weights).
   * @returns The count.
   */
  get count(): number {
    return this.#core.count;
  }

  /**
   * The effective sample size `(Σw)² / Σw²` used for `tol: "auto"`; equal to
   * {@linkcode CorrelationAccumulator.count} when every sample has weight 1.
   * @returns The effective count.
   */
  get effectiveCount(): number {
    return this.#core.effectiveCount;
  }

  /**
   * The number of features F, or 0 until the feature shape is known.
   * @returns F.
   */
  get features(): number {
    return this.#core.features;
  }

  /**
   * The number of confounds M, or 0 until it is known.
   * @returns M.
   */
  get confounds(): number {
    return this.#core.confounds ?? 0;
  }

  /**
   * The shape of one sample's features, or undefined until the first update.
   * @returns A copy of the shape.
   */
  get featureShape(): number[] | undefined {
    const shape = this.#core.featureShape;
    return shape ? [...shape] : undefined;
  }

  /**
   * Folds in one batch: validates it, computes its centred moments and merges them.
   *
   * @param x Features, batch first, as `batchCorr` accepts them.
   * @param n Confounds, `(B)` or `(M, B)`.
   * @returns This accumulator.
   * @throws {TypeError} If the batch is malformed or its shape differs from the accumulator's.
   * @throws {RangeError} If the batch is empty, holds NaN or ±Infinity, or a column's squared
   * deviations leave float64's range (in the batch or merged). The state is then unchanged.
   * @throws {BatchCorrError} "resource_limit" if the batch's F·M exceeds `maxElements`.
   */
  update(x: TensorLike, n: TensorLike): this {
    const context = "update CorrelationAccumulator";
    const batch = prepareBatch(x, n, context, ["x", "n"], this.#core.maxElements);
    this.#core.checkShape(batch.featureShape, batch.confounds, context);
    this.#scratch = momentsOfBatch(batch, context, ["x", "n"], this.#scratch);
    this.#core.stage(this.#scratch, batch.featureShape, batch.count, 1, context).commit();
    return this;
  }

  /**
   * Merges a backend's moments of one batch of unit-weight samples, features in X's column order.
   *
   * @param moments The batch's moments.
   * @param featureShape X's shape without the batch axis (default: the accumulator's, else `[F]`).
   * @returns This accumulator.
   * @throws {TypeError} If the moments are malformed or their shape differs from the accumulator's.
   * @throws {RangeError} If a value is not finite, or a sum of squares or the count is negative.
   * @throws {BatchCorrError} "resource_limit" if F·M exceeds `maxElements`.
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
    const checked = checkMoments(moments, context);
    const shape = checkMomentsShape(
      featureShape ?? this.featureShape ?? [checked.features],
      checked,
      context,
    );
    this.#core.checkShape(shape, checked.confounds, context);
    // The means are taken as float64 values: low parts are this library's own state.
    this.#core.stage(withoutLowParts(checked), shape, checked.count, 1, context).commit();
    return this;
  }

  /**
   * Merges another accumulator's state into this one; shards in any grouping give the one-pass answer.
   * With `options.decay` λ < 1, this state's sample weights are first multiplied by λ: merging
   * batch states one by one that way builds the `decay` view of `correlateBatches` (each batch
   * weighted λ per batch merged after it), for example from states that other processes committed.
   *
   * @param other An accumulator of the same feature shape and confounds.
   * @param options `decay`, the weight multiplier of this state, in (0, 1] (default 1); an empty
   * `other` changes nothing, the decay included.
   * @returns This accumulator.
   * @throws {TypeError} If the shapes differ, or an option has the wrong type or an unknown key.
   * @throws {RangeError} If the merged sums of squares leave float64's range, or `decay` is
   * outside (0, 1].
   * @throws {BatchCorrError} "invalid_merge" for `a.merge(a)` (each sample would count twice);
   * "resource_limit" if the other's F·M exceeds this one's `maxElements`, or the merged count
   * would exceed 2⁵³ − 1.
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
   *
   * @example A decay view from batch states
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const first = new CorrelationAccumulator().update([[1], [2], [4]], [1, 2, 3]);
   * const second = new CorrelationAccumulator().update([[3], [5], [4]], [4, 5, 7]);
   * const decayed = new CorrelationAccumulator().merge(first).merge(second, { decay: 0.5 });
   * // The first batch's 3 samples now weigh 0.5 each.
   * assert.equal(decayed.effectiveCount, (1.5 + 3) ** 2 / (3 * 0.25 + 3));
   * ```
   */
  merge(other: CorrelationAccumulator, options?: MergeOptions): this {
    const context = "merge CorrelationAccumulator";
    if (!(other instanceof CorrelationAccumulator)) {
      throw new TypeError(ruleMessage(context, "other", "a CorrelationAccumulator", other));
    }
    // The plain merge (no options) skips the schema: workers merge once per batch.
    const decay = options === undefined ? 1 : parseMergeOptions(options, context).decay;
    this.#core.mergeFrom(other.#core, context, decay);
    return this;
  }

  /**
   * The thresholded correlations of every sample so far, as `batchCorr` of all of them at once.
   *
   * @param options As `batchCorr`.
   * @returns The `(F, M)` correlations, the tolerance used and zero-variance counts.
   * @throws {TypeError} If an option has the wrong type.
   * @throws {RangeError} Without samples, for `tol: "auto"` with fewer than 3, or an option out of range.
   * @throws {BatchCorrError} "resource_limit" if F·M exceeds `options.maxElements`.
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
    return this.#core.correlations(resolved, context);
  }

  /**
   * Package-internal (the streams): stages a merge of checked moments; commit it or drop it.
   * @param moments The batch's checked moments (unit-weight samples).
   * @param options Its feature shape, the decay of the state, the context.
   * @returns The staged merge.
   * @throws {TypeError} As `update`, for another shape.
   * @throws {RangeError} As `update`, for a merge out of float64's range.
   * @ignore
   */
  stage(moments: AccumulableMoments, options: StageOptions): StagedMerge {
    const { featureShape, context } = options;
    // Its own key only: without one the decay is 1, whatever Object.prototype holds.
    const decay = readProperty(options, "decay") as number | undefined;
    return this.#core.stage(moments, featureShape, moments.count, decay ?? 1, context);
  }

  /**
   * A copy of the state, features in X's column order, each two-part mean rounded to float64.
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
    return this.#core.copyOfMoments("read CorrelationAccumulator moments");
  }

  /**
   * An independent copy: updating one leaves the other as it was.
   *
   * @returns A new accumulator with the same shape and state.
   */
  clone(): CorrelationAccumulator {
    return CorrelationAccumulator.#of(
      AccumulatorState.fromSnapshot(this.#core.snapshot, this.#core.maxElements),
    );
  }

  /**
   * A versioned JSON snapshot (version 2 holds the means' low parts; version 1 still restores).
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
   * Restores an accumulator from `toJSON`'s snapshot, as the object or its JSON text.
   *
   * @param json The snapshot or its JSON text.
   * @param expected The feature shape and M it must have, and the largest F·M it may declare.
   * @returns The restored accumulator.
   * @throws {BatchCorrError} "invalid_snapshot" for a wrong format or version, missing, extra
   * or `__proto__` keys, arrays of the wrong length, non-finite or negative values, a mean's
   * low part above 2⁻⁴⁰ of the mean, |r| > 1, or a shape other than `expected`;
   * "resource_limit" for a declared F·M above `expected.maxElements` (before allocating).
   * @throws {TypeError} If `expected` is not valid options.
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
   * `fromJSON` for untrusted input, on the same decoder: a refused snapshot is returned, not thrown.
   *
   * @param json The snapshot or its JSON text.
   * @param expected As {@linkcode CorrelationAccumulator.fromJSON}.
   * @returns `{ success: true, data }`, or `{ success: false, error }` with `fromJSON`'s error.
   * @throws {TypeError} If `expected` is not valid options (the snapshot never throws).
   *
   * @example Checking a snapshot from the network
   * ```ts
   * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const result = CorrelationAccumulator.safeFromJSON('{"format": "batch-corr/accumulator"}');
   * assert.ok(!result.success && result.error.code === "invalid_snapshot");
   * ```
   */
  static safeFromJSON(
    json: unknown,
    expected?: CorrelationAccumulatorOptions,
  ): { success: true; data: CorrelationAccumulator } | { success: false; error: BatchCorrError } {
    return CorrelationAccumulator.#wrap(restoreState((e) => decodeSnapshotJSON(json, e), expected));
  }

  /**
   * A binary snapshot: magic "BCAS", version, dimensions, the state as little-endian float64
   * (round trip: see {@linkcode CorrelationAccumulator.fromBytes}).
   *
   * @returns The bytes.
   */
  toBytes(): Uint8Array {
    return encodeSnapshotBytes(this.#core.snapshot);
  }

  /**
   * Restores an accumulator from {@linkcode CorrelationAccumulator.toBytes}.
   *
   * @param bytes The snapshot.
   * @param expected The feature shape and M it must have, and the largest F·M it may declare.
   * @returns The restored accumulator.
   * @throws {BatchCorrError} "invalid_snapshot" for a wrong magic or version, truncated or
   * extra bytes, non-finite or negative values, a mean's low part above 2⁻⁴⁰ of the mean,
   * |r| > 1, or a shape other than `expected`; "resource_limit" for a declared F·M above
   * `expected.maxElements` (before allocating).
   * @throws {TypeError} If `expected` is not valid options.
   *
   * @example A binary round trip, and truncation detected (thrown, or returned by the safe twin)
   * ```ts
   * import { BatchCorrError, CorrelationAccumulator } from "@streamcorr/batch-corr";
   * import assert from "node:assert/strict";
   *
   * const acc = new CorrelationAccumulator().update([[1, 0], [2, 5], [4, 1]], [1, 3, 2]);
   * const bytes = acc.toBytes();
   * assert.deepEqual(CorrelationAccumulator.fromBytes(bytes).moments(), acc.moments());
   * assert.throws(() => CorrelationAccumulator.fromBytes(bytes.subarray(0, bytes.length - 8)),
   *   (e) => e instanceof BatchCorrError && e.code === "invalid_snapshot");
   * const result = CorrelationAccumulator.safeFromBytes(bytes.subarray(0, 20));
   * assert.ok(!result.success && /truncated/.test(result.error.message));
   * ```
   */
  static fromBytes(
    bytes: Uint8Array,
    expected?: CorrelationAccumulatorOptions,
  ): CorrelationAccumulator {
    return orThrow(CorrelationAccumulator.safeFromBytes(bytes, expected));
  }

  /**
   * `fromBytes` for untrusted input, on the same decoder: a refused snapshot is returned, not thrown.
   *
   * @param bytes The snapshot.
   * @param expected As {@linkcode CorrelationAccumulator.fromBytes}.
   * @returns `{ success: true, data }`, or `{ success: false, error }` with `fromBytes`'s error.
   * @throws {TypeError} If `expected` is not valid options (the snapshot never throws).
   */
  static safeFromBytes(
    bytes: Uint8Array,
    expected?: CorrelationAccumulatorOptions,
  ): { success: true; data: CorrelationAccumulator } | { success: false; error: BatchCorrError } {
    return CorrelationAccumulator.#wrap(
      restoreState((e) => decodeSnapshotBytes(bytes, e), expected),
    );
  }

  static #wrap(restored: Restored<AccumulatorState>): Restored<CorrelationAccumulator> {
    return restored.success
      ? { success: true, data: CorrelationAccumulator.#of(restored.data) }
      : restored;
  }

  static #of(core: AccumulatorState): CorrelationAccumulator {
    const accumulator = new CorrelationAccumulator({ maxElements: core.maxElements });
    accumulator.#core = core;
    return accumulator;
  }
}
