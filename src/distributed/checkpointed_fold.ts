/**
 * The engine-free heart of a worker: fold a set of batch messages into a copy
 * of the committed state, then commit the copy and the acknowledgements in one
 * step; adopt the copy only if the commit went through.
 *
 * @module
 */

import { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import type { TensorLike } from "../core/tensor.ts";
import type {
  BatchDelivery,
  BatchDelta,
  CheckpointCommit,
  CheckpointStore,
  DeadLetter,
} from "./batch_source.ts";
import { safeDecodeBatchEnvelope } from "./batch_envelope.ts";
import { ownOptions } from "../core/own_properties.ts";
import { ruleMessage } from "../core/errors.ts";

/** Options of {@linkcode CheckpointedFold}. */
export interface CheckpointedFoldOptions {
  /**
   * The largest F·M a batch or the state may have (as `CorrelationAccumulator`).
   * @default {134217728}
   */
  maxElements?: number;
  /**
   * A message handed out more often than this without being committed is
   * dead-lettered instead of folded (it probably crashes the workers).
   * @default {10}
   */
  maxDeliveries?: number;
  /**
   * Keep each folded batch's own moments in the commit (`CheckpointCommit.deltas`),
   * for window views.
   * @default {true}
   */
  deltas?: boolean;
}

/** What one {@linkcode CheckpointedFold.step} did. */
export interface FoldStep {
  /** Whether the commit went through (then `state` includes the folded batches). */
  committed: boolean;
  /** Why the commit was refused. */
  reason?: string;
  /** Messages folded in (or that would have been, when refused). */
  folded: BatchDelivery[];
  /** Messages skipped as already inside the committed state (at or below the watermark). */
  skipped: BatchDelivery[];
  /** Messages refused as poisoned. */
  deadLetters: DeadLetter[];
  /** Samples folded in. */
  samples: number;
}

/**
 * A worker's committed correlation state and its fence, advanced one commit
 * at a time. A batch enters the state only through a successful commit, so a
 * refused or failed commit leaves nothing behind: reload and go on.
 *
 * @example Folding two messages with an in-memory store
 * ```ts
 * import { CheckpointedFold, encodeBatchEnvelope, type CheckpointStore } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * let saved: Uint8Array | undefined;
 * const store: CheckpointStore = {
 *   load: () => Promise.resolve({ snapshot: saved, watermark: undefined, fence: "1" }),
 *   commit: (commit) => { saved = commit.snapshot; return Promise.resolve({ committed: true, fence: "1" }); },
 * };
 * const fold = new CheckpointedFold(store);
 * await fold.load();
 * const payload = encodeBatchEnvelope({ id: "a", x: [[1], [2], [4]], n: [1, 3, 2] });
 * const step = await fold.step([{ id: "1-0", payload, deliveries: 1 }]);
 * assert.equal(step.committed, true);
 * assert.equal(fold.state.count, 3);
 * ```
 */
export class CheckpointedFold {
  #store: CheckpointStore;
  #maxElements: number;
  #maxDeliveries: number;
  #keepDeltas: boolean;
  #state: CorrelationAccumulator;
  #fence = "";
  #watermark: number | undefined;
  #loaded = false;
  /** The bytes of the committed state, to restore it after a refused or failed commit. */
  #committed: Uint8Array | undefined;

  /**
   * Creates the fold; call {@linkcode CheckpointedFold.load} before the first step.
   *
   * @param store Where the state is committed.
   * @param options Limits and whether to keep per-batch moments.
   * @throws {RangeError} If `maxElements` or `maxDeliveries` is not a positive integer.
   */
  constructor(store: CheckpointStore, given: CheckpointedFoldOptions = {}) {
    // Own properties only (nothing from Object.prototype), each read once.
    const options = ownOptions(given) as CheckpointedFoldOptions;
    this.#store = store;
    this.#maxElements = positiveInteger(options.maxElements ?? 2 ** 27, "options.maxElements");
    this.#maxDeliveries = positiveInteger(options.maxDeliveries ?? 10, "options.maxDeliveries");
    this.#keepDeltas = options.deltas ?? true;
    this.#state = new CorrelationAccumulator({ maxElements: this.#maxElements });
  }

  /**
   * The committed state (do not modify it).
   *
   * @returns The accumulator as of the last successful commit or load.
   */
  get state(): CorrelationAccumulator {
    return this.#state;
  }

  /**
   * The highest position inside the committed state, for watermark-based engines.
   *
   * @returns The watermark, or undefined.
   */
  get watermark(): number | undefined {
    return this.#watermark;
  }

  /**
   * Loads the last committed checkpoint, replacing the in-memory state.
   *
   * @returns Nothing.
   * @throws {BatchCorrError} "invalid_snapshot" if the stored snapshot is corrupted.
   */
  async load(): Promise<void> {
    const checkpoint = await this.#store.load();
    this.#state = checkpoint.snapshot
      ? CorrelationAccumulator.fromBytes(checkpoint.snapshot, { maxElements: this.#maxElements })
      : new CorrelationAccumulator({ maxElements: this.#maxElements });
    this.#committed = checkpoint.snapshot;
    this.#fence = checkpoint.fence;
    this.#watermark = checkpoint.watermark;
    this.#loaded = true;
  }

  /**
   * Folds the messages into the state, in the order given, and commits it;
   * a refused or failed commit puts the committed state back (the state is
   * folded in place rather than into a copy: a copy of F·M co-moments per
   * step costs as much as the fold for small batches). Poisoned messages (an unreadable envelope, NaN or ±Infinity,
   * a shape other than the state's, too many deliveries) are dead-lettered in
   * the same commit; messages at or below the watermark are skipped.
   *
   * @param deliveries The messages this worker holds.
   * @param beforeCommit Awaited after folding, before committing.
   * @returns What was folded, skipped and dead-lettered, and whether the commit went through.
   * @throws {Error} Whatever the store throws (the outcome is then unknown: reload).
   */
  async step(
    deliveries: readonly BatchDelivery[],
    beforeCommit?: (step: FoldStep) => void | Promise<void>,
  ): Promise<FoldStep> {
    if (!this.#loaded) await this.load();
    const working = this.#state;
    const folded: BatchDelivery[] = [], skipped: BatchDelivery[] = [];
    const deadLetters: DeadLetter[] = [], deltas: BatchDelta[] = [];
    let samples = 0;
    let watermark = this.#watermark;
    for (const delivery of deliveries) {
      if (
        delivery.position !== undefined && watermark !== undefined && delivery.position <= watermark
      ) {
        skipped.push(delivery);
        continue;
      }
      const outcome = this.#foldOne(working, delivery);
      if (isDeadLetter(outcome)) {
        deadLetters.push(outcome);
      } else {
        folded.push(delivery);
        samples += outcome.samples;
        if (outcome.delta) deltas.push(outcome.delta);
      }
      if (delivery.position !== undefined) {
        watermark = Math.max(watermark ?? -Infinity, delivery.position);
      }
    }
    const step: FoldStep = { committed: false, folded, skipped, deadLetters, samples };
    await beforeCommit?.(step);
    const commit: CheckpointCommit = {
      snapshot: working.toBytes(),
      folded,
      skipped,
      deadLetters,
      watermark,
      deltas,
      samples,
    };
    let outcome;
    try {
      outcome = await this.#store.commit(commit, this.#fence);
    } catch (error) {
      this.#restore();
      throw error;
    }
    if (!outcome.committed) {
      this.#restore();
      return { ...step, reason: outcome.reason };
    }
    this.#committed = commit.snapshot;
    this.#fence = outcome.fence;
    this.#watermark = watermark;
    return { ...step, committed: true };
  }

  /** A batch that is invalid on its own (NaN, empty) is reported as such rather than as a shape mismatch. */
  #reasonOf(batch: { x: TensorLike; n: TensorLike }, error: unknown): string {
    if (this.#keepDeltas) return (error as Error).message;
    try {
      new CorrelationAccumulator({ maxElements: this.#maxElements }).update(batch.x, batch.n);
    } catch (own) {
      return (own as Error).message;
    }
    return (error as Error).message;
  }

  #restore(): void {
    this.#state = this.#committed
      ? CorrelationAccumulator.fromBytes(this.#committed, { maxElements: this.#maxElements })
      : new CorrelationAccumulator({ maxElements: this.#maxElements });
  }

  #foldOne(
    working: CorrelationAccumulator,
    delivery: BatchDelivery,
  ): DeadLetter | { samples: number; delta: BatchDelta | undefined } {
    const dead = (reason: string, batchId = delivery.batchId): DeadLetter => ({
      id: delivery.id,
      ...(batchId === undefined ? {} : { batchId }),
      reason,
      payload: delivery.payload,
    });
    if (delivery.deliveries > this.#maxDeliveries) {
      return dead(
        `delivered ${delivery.deliveries} times without a commit (maxDeliveries is ${this.#maxDeliveries}); it may crash the workers`,
      );
    }
    // Views over the payload: the batch is folded here and not kept.
    const decoded = safeDecodeBatchEnvelope(delivery.payload, { copy: false });
    if (!decoded.success) return dead(decoded.error.message);
    const batch = decoded.data;
    const before = working.count;
    let own: CorrelationAccumulator | undefined;
    try {
      // Without deltas the batch goes straight in: one kernel pass and one merge.
      if (this.#keepDeltas) {
        own = new CorrelationAccumulator({ maxElements: this.#maxElements }).update(
          batch.x,
          batch.n,
        );
        working.merge(own);
      } else {
        working.update(batch.x, batch.n);
      }
    } catch (error) {
      return dead(this.#reasonOf(batch, error), batch.id);
    }
    const delta = own
      ? {
        id: delivery.id,
        batchId: batch.id,
        snapshot: own.toBytes(),
        ...(batch.meta ? { meta: JSON.stringify(batch.meta) } : {}),
      }
      : undefined;
    return { samples: working.count - before, delta };
  }
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    // describeValue, not a template: a Symbol or a null-prototype object cannot be turned into text.
    const message = ruleMessage("create CheckpointedFold", name, "a positive integer", value);
    throw typeof value === "number" ? new RangeError(message) : new TypeError(message);
  }
  return value;
}

/** A dead letter rather than a fold: told by its own key, never by one Object.prototype holds. */
function isDeadLetter(
  outcome: DeadLetter | { samples: number; delta: BatchDelta | undefined },
): outcome is DeadLetter {
  return Object.hasOwn(outcome, "reason");
}
