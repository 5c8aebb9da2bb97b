/**
 * The state behind a `CorrelationAccumulator`: its shape, the moments and a
 * spare buffer of the same size, Σw², and the staging of merges into the
 * spare so that a merge that fails (or a stream batch that fails later)
 * leaves the state as it was.
 *
 * @module
 */

import { resolveTol } from "../core/auto_tol.ts";
import type { ResolvedCorrelationOptions } from "../core/batch_corr_options.ts";
import { type BatchMoments, emptyMoments } from "../core/batch_moments.ts";
import { type BatchCorrResult, resultFromMoments } from "../core/correlation_view.ts";
import { BatchCorrError, ruleMessage } from "../core/errors.ts";
import { featureOrder } from "../core/feature_order.ts";
import { MAX_COUNT } from "../core/moment_bounds.ts";
import { checkElementLimit } from "../core/limits.ts";
import {
  copyMoments,
  effectiveSampleSize,
  mergeMoments,
  scaleMoments,
} from "../core/moment_algebra.ts";
import {
  emptyPreciseMoments,
  type MeanLowParts,
  type PreciseMoments,
} from "../core/precise_means.ts";
import { checkSameShape } from "./check_same_shape.ts";
import { checkMergedFinite, mergeChecked } from "./_checked_merge.ts";
import { flushSubnormalColumns } from "./_flush_subnormal_columns.ts";
import type { SnapshotState } from "./_snapshot_rules.ts";
import type { StagedMerge } from "./staged_merge.ts";

type Stored = BatchMoments & MeanLowParts;

/**
 * Throws unless the merged count stays exact: beyond 2⁵³ − 1, `count + 1`
 * rounds back to `count` and samples would vanish without a trace.
 */
function checkMergedCount(before: number, added: number, context: string): void {
  const count = before + added;
  if (count <= MAX_COUNT) return;
  throw new BatchCorrError(
    "resource_limit",
    `Cannot ${context} as the merged count must be at most 2^53 − 1 (beyond it adding a sample no longer changes the count): current value is ${before} + ${added} = ${count}`,
    { details: { count, limit: MAX_COUNT } },
  );
}

/** A running state: shape, moments with low parts, Σw², and staged merges. */
export class AccumulatorState {
  readonly maxElements: number;
  #featureShape: number[] | undefined;
  #confounds: number | undefined;
  #order: Int32Array | undefined;
  #state: Stored | undefined;
  #spare: Stored | undefined;
  #weightSquares = 0;
  #generation = 0;

  /**
   * Creates an empty state, allocated once the shape is fully known.
   *
   * @param maxElements The cap on F·M.
   * @param featureShape The feature shape, when known.
   * @param confounds M, when known.
   */
  constructor(
    maxElements: number,
    featureShape: readonly number[] | undefined,
    confounds: number | undefined,
  ) {
    this.maxElements = maxElements;
    if (featureShape) this.#setFeatureShape(featureShape);
    this.#confounds = confounds;
    if (this.#featureShape && confounds !== undefined) {
      this.#state = emptyPreciseMoments(this.features, confounds);
      this.#spare = emptyPreciseMoments(this.features, confounds);
    }
  }

  /**
   * An empty state for an accumulator's parsed options.
   *
   * @param options The feature shape and M, when known, and the cap on F·M.
   * @param context What was being done.
   * @returns The state.
   * @throws {BatchCorrError} "resource_limit" if the known shape has more than `maxElements` F·M.
   */
  static empty(
    options: {
      featureShape?: number[] | undefined;
      confounds?: number | undefined;
      maxElements: number;
    },
    context: string,
  ): AccumulatorState {
    const { featureShape, confounds, maxElements } = options;
    const features = featureShape ? featureShape.reduce((a, b) => a * b, 1) : 1;
    if (featureShape || confounds !== undefined) {
      checkElementLimit(features, confounds ?? 1, maxElements, context);
    }
    return new AccumulatorState(maxElements, featureShape, confounds);
  }

  /**
   * A state holding a decoded snapshot.
   *
   * @param snapshot The snapshot's state (validated).
   * @param maxElements The cap on F·M.
   * @returns The state.
   */
  static fromSnapshot(snapshot: SnapshotState, maxElements: number): AccumulatorState {
    const state = new AccumulatorState(maxElements, snapshot.featureShape, snapshot.confounds);
    if (snapshot.moments && state.#state) {
      copyMoments(snapshot.moments, state.#state);
      flushSubnormalColumns(state.#state);
    }
    state.#weightSquares = snapshot.weightSquares;
    return state;
  }

  /** The state as the snapshot codecs see it (sharing the moments). */
  get snapshot(): SnapshotState {
    return {
      featureShape: this.#featureShape ? [...this.#featureShape] : undefined,
      confounds: this.#confounds,
      weightSquares: this.#weightSquares,
      moments: this.#state,
    };
  }

  /** The moments, once storage exists (count 0 before the first merge). */
  get moments(): Readonly<Stored> | undefined {
    return this.#state;
  }

  /** The permutation into hypercoil's feature order, or undefined. */
  get order(): Int32Array | undefined {
    return this.#order;
  }

  /** Σw: the samples (weights) folded in. */
  get count(): number {
    return this.#state?.count ?? 0;
  }

  /** `(Σw)² / Σw²`. */
  get effectiveCount(): number {
    return effectiveSampleSize(this.count, this.#weightSquares);
  }

  /** Σw². */
  get weightSquares(): number {
    return this.#weightSquares;
  }

  /** F, or 0 while the feature shape is unknown. */
  get features(): number {
    return this.#featureShape ? this.#featureShape.reduce((a, b) => a * b, 1) : 0;
  }

  /** M, or undefined while unknown. */
  get confounds(): number | undefined {
    return this.#confounds;
  }

  /** The feature shape (not a copy), or undefined while unknown. */
  get featureShape(): readonly number[] | undefined {
    return this.#featureShape;
  }

  /**
   * Throws unless a batch's shape is the state's, where it has one.
   *
   * @param featureShape The batch's feature shape.
   * @param confounds The batch's M.
   * @param context What was being done.
   * @throws {TypeError} Naming both shapes.
   */
  checkShape(featureShape: readonly number[], confounds: number, context: string): void {
    checkSameShape(
      { featureShape: this.#featureShape, confounds: this.#confounds },
      featureShape,
      confounds,
      context,
    );
  }

  /**
   * Merges another state into this one (not itself: each sample would count twice).
   *
   * @param other The other state.
   * @param context What was being done.
   * @param decay The weight multiplier applied to this state first (validated by the caller);
   * an empty other changes nothing, the decay included.
   * @throws {TypeError} If the shapes differ.
   * @throws {RangeError} If the merged sums of squares leave float64's range.
   * @throws {BatchCorrError} "invalid_merge" for this state itself; "resource_limit" as `stage`.
   */
  mergeFrom(other: AccumulatorState, context: string, decay = 1): void {
    if (other === this) {
      throw new BatchCorrError(
        "invalid_merge",
        `Cannot ${context} as other must be another accumulator (merging one into itself counts each of its ${this.count} samples twice): current value is this accumulator; merge other.clone() to double it on purpose`,
      );
    }
    if (other.#featureShape && other.#confounds !== undefined) {
      this.checkShape(other.#featureShape, other.#confounds, context);
    }
    const moments = other.#state;
    if (!moments || moments.count === 0 || !other.#featureShape) return;
    this.stage(moments, other.#featureShape, other.#weightSquares, decay, context).commit();
  }

  /**
   * The thresholded correlations of the state, `tol: "auto"` from the effective count.
   *
   * @param options Parsed `batchCorr` options.
   * @param context What was being done.
   * @returns The `(F, M)` view.
   * @throws {RangeError} Without samples, or for `tol: "auto"` with fewer than 3.
   * @throws {BatchCorrError} "resource_limit" if F·M exceeds `options.maxElements`.
   */
  correlations(
    options: ResolvedCorrelationOptions & { maxElements: number },
    context: string,
  ): BatchCorrResult {
    const state = this.#state;
    if (!state || state.count === 0) {
      throw new RangeError(
        ruleMessage(
          context,
          "the accumulator's count",
          "positive (update it with a batch first)",
          0,
        ),
      );
    }
    checkElementLimit(state.features, state.confounds, options.maxElements, context);
    const tol = resolveTol(options.tol, options.tolSig, this.effectiveCount, context);
    return resultFromMoments(state, this.#order, {
      tol,
      abs: options.abs,
      zeroVariance: options.zeroVariance,
    });
  }

  /**
   * A copy of the moments, each mean rounded to float64.
   *
   * @param context What was being done.
   * @returns The copy.
   * @throws {RangeError} If the shape is not known yet.
   */
  copyOfMoments(context: string): BatchMoments {
    const state = this.#state;
    if (!state) {
      throw new RangeError(
        ruleMessage(context, "the accumulator's shape", "known (update it first)", "unknown"),
      );
    }
    return copyMoments(state, emptyMoments(state.features, state.confounds));
  }

  /**
   * Stages the merge of `moments` into the spare buffer.
   *
   * @param moments Moments of the state's shape (checked by the caller).
   * @param featureShape Their feature shape, fixed on commit.
   * @param weightSquares Their Σw².
   * @param decay The weight multiplier applied to the state first.
   * @param context What was being done.
   * @returns The staged merge.
   * @throws {TypeError} If the shape differs from the state's.
   * @throws {RangeError} If the merge underflows or overflows float64.
   * @throws {BatchCorrError} "resource_limit" if F·M exceeds the cap, or the merged count 2⁵³ − 1.
   */
  stage(
    moments: PreciseMoments,
    featureShape: readonly number[],
    weightSquares: number,
    decay: number,
    context: string,
  ): StagedMerge {
    this.checkShape(featureShape, moments.confounds, context);
    checkMergedCount(this.count * decay, moments.count, context);
    const F = moments.features, M = moments.confounds;
    const stale = this.#state && !this.#featureShape &&
      (this.#state.features !== F || this.#state.confounds !== M);
    if (!this.#state || stale) {
      checkElementLimit(F, M, this.maxElements, context, "the accumulator's maxElements option");
      // Storage only (the state is still empty): the shape itself is fixed on commit.
      this.#state = emptyPreciseMoments(F, M);
      this.#spare = emptyPreciseMoments(F, M);
    }
    const merged = this.#spare!;
    if (decay === 1) {
      mergeChecked(this.#state, moments, merged, context);
    } else {
      // With forgetting, a variance that fades towards 0 is the intended answer, not a loss of range.
      scaleMoments(this.#state, decay, merged);
      mergeMoments(merged, moments, merged);
      checkMergedFinite(merged, context);
    }
    flushSubnormalColumns(merged);
    const squares = this.#weightSquares * decay * decay + weightSquares;
    const shape = [...featureShape];
    // Each stage replaces the one before: only the latest can be committed, and once.
    const generation = ++this.#generation;
    return {
      moments: merged,
      effectiveCount: effectiveSampleSize(merged.count, squares),
      commit: () => this.#commit(generation, merged, squares, shape),
    };
  }

  #commit(generation: number, merged: Stored, weightSquares: number, shape: number[]): void {
    if (generation !== this.#generation) {
      throw new TypeError(
        "Cannot commit the staged merge as it must be the accumulator's latest stage: a later stage, update or merge replaced it, or it was committed already",
      );
    }
    this.#generation++;
    if (!this.#featureShape) this.#setFeatureShape(shape);
    if (this.#confounds === undefined) this.#confounds = merged.confounds;
    this.#spare = this.#state;
    this.#state = merged;
    this.#weightSquares = weightSquares;
  }

  #setFeatureShape(shape: readonly number[]): void {
    this.#featureShape = [...shape];
    this.#order = featureOrder([1, ...shape]);
  }
}
