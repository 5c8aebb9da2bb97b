/**
 * A merge into a `CorrelationAccumulator` that is computed but not applied:
 * the streams stage a batch, compute every view from the staged state, and
 * commit only when all of it succeeded, so a failure leaves the state as it was.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";

/** What `CorrelationAccumulator.stage` needs besides the moments. */
export interface StageOptions {
  /** X's shape without the batch axis, fixed on commit when the accumulator has none yet. */
  readonly featureShape: readonly number[];
  /**
   * The weight multiplier applied to the state before the merge (exponential
   * forgetting), in (0, 1].
   * @default {1}
   */
  readonly decay?: number;
  /** What is being done, for messages. */
  readonly context: string;
}

/** A staged merge: the state it would give, and the commit that applies it. */
export interface StagedMerge {
  /**
   * The merged state, features in natural order. It is the accumulator's
   * spare storage: valid until the next stage, update or merge.
   */
  readonly moments: Readonly<BatchMoments>;
  /** The effective sample size `(Σw)² / Σw²` of the merged state (for `tol: "auto"`). */
  readonly effectiveCount: number;
  /**
   * Applies the merge. Dropping the object instead discards it.
   *
   * @throws {TypeError} If the accumulator staged, updated or merged since,
   * or this merge was committed already.
   */
  commit(): void;
}
