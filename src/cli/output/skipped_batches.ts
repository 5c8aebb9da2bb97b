/**
 * The batches a run skipped: all counted, the first ones kept with their
 * reason, so that memory does not grow with the number of batches.
 *
 * @module
 */

/** A batch the stream skipped, and why. */
export interface SkippedBatch {
  /** The batch index. */
  index: number;
  /** Why it was skipped. */
  reason: string;
}

/**
 * Counts every skipped batch and keeps the first `limit` with their reason.
 *
 * @example
 * ```ts
 * import { SkippedBatches } from "./skipped_batches.ts";
 * import assert from "node:assert/strict";
 *
 * const skipped = new SkippedBatches(2);
 * for (let i = 0; i < 5; i++) skipped.add({ index: i, reason: "too small" });
 * assert.deepEqual([skipped.count, skipped.batches.length], [5, 2]);
 * ```
 */
export class SkippedBatches {
  /** How many batches were skipped. */
  count = 0;
  /** The first {@linkcode SkippedBatches.limit} skipped batches, in order. */
  readonly batches: SkippedBatch[] = [];

  /**
   * Creates an empty log.
   *
   * @param limit How many skipped batches to keep with their reason (all are counted).
   */
  constructor(readonly limit = 1000) {}

  /**
   * Records a skipped batch.
   *
   * @param batch The batch and its reason.
   */
  add(batch: SkippedBatch): void {
    this.count++;
    if (this.batches.length < this.limit) this.batches.push(batch);
  }
}
