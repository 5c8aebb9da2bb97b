/**
 * A sliding window over the last W batches' moments, as a two-stacks queue
 * under the (associative) parallel merge: O(F·M) amortised work per batch
 * instead of re-merging all W batches.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import { copyMoments, mergeMoments } from "../core/moment_algebra.ts";
import {
  emptyPreciseMoments,
  type MeanLowParts,
  type PreciseMoments,
} from "../core/precise_means.ts";

type Stored = BatchMoments & MeanLowParts;

/**
 * The merge of the last `capacity` batches.
 *
 * New batches are pushed on the back stack, whose merged total is kept; the
 * front stack holds the oldest batches, each entry storing the merge of
 * itself and every newer entry below it, so dropping the oldest batch is a
 * pop. When the front runs empty, the back is moved over (each batch moved
 * once, hence amortised O(1) merges per batch). The window is
 * `front top ⊕ back total`.
 *
 * Updates are staged then committed, so a batch that fails later leaves the
 * window as it was.
 */
export class MomentWindow {
  readonly #capacity: number;
  readonly #features: number;
  readonly #confounds: number;
  // Every buffer keeps the means' low parts, so the window is as precise as the running state.
  readonly #back: Stored[] = [];
  readonly #front: Stored[] = [];
  readonly #pool: Stored[] = [];
  readonly #backTotal: Stored;
  readonly #result: Stored;
  readonly #empty: Stored;

  /**
   * Creates an empty window.
   *
   * @param capacity W, the number of batches kept.
   * @param features F.
   * @param confounds M.
   */
  constructor(capacity: number, features: number, confounds: number) {
    this.#capacity = capacity;
    this.#features = features;
    this.#confounds = confounds;
    this.#backTotal = emptyPreciseMoments(features, confounds);
    this.#result = emptyPreciseMoments(features, confounds);
    this.#empty = emptyPreciseMoments(features, confounds);
  }

  /** Batches currently in the window. */
  get size(): number {
    return this.#back.length + this.#front.length;
  }

  /**
   * The window's moments once `batch` is added (and the oldest batch dropped
   * when the window is full), without changing the window's contents.
   *
   * @param batch The new batch's moments.
   * @returns The merged moments (storage reused by the next call).
   */
  stage(batch: PreciseMoments): BatchMoments {
    let older: Stored;
    if (this.size < this.#capacity) {
      older = this.#front.at(-1) ?? this.#empty;
    } else {
      if (this.#front.length === 0) this.#moveBackToFront();
      older = this.#front.at(-2) ?? this.#empty;
    }
    copyMoments(older, this.#result);
    mergeMoments(this.#result, this.#backTotal, this.#result);
    return mergeMoments(this.#result, batch, this.#result);
  }

  /**
   * Adds `batch` for good, dropping the oldest batch when the window is full.
   *
   * @param batch The batch's moments (copied).
   */
  commit(batch: PreciseMoments): void {
    if (this.size >= this.#capacity) {
      if (this.#front.length === 0) this.#moveBackToFront();
      this.#pool.push(this.#front.pop()!);
    }
    const stored = copyMoments(
      batch,
      this.#pool.pop() ?? emptyPreciseMoments(this.#features, this.#confounds),
    );
    this.#back.push(stored);
    mergeMoments(this.#backTotal, batch, this.#backTotal);
  }

  #moveBackToFront(): void {
    // Newest first, so the oldest ends on top; each entry absorbs the newer ones below it.
    while (this.#back.length > 0) {
      const entry = this.#back.pop()!;
      const below = this.#front.at(-1);
      if (below) mergeMoments(entry, below, entry);
      this.#front.push(entry);
    }
    copyMoments(this.#empty, this.#backTotal);
  }
}
