/**
 * The aggregator's core, engine-free: merge every committed snapshot in a
 * fixed order into the global running view, and the per-batch moments
 * committed beside them into interval and window (or decay) views.
 *
 * @module
 */

import { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import {
  BatchCorrelationLoss,
  type BatchCorrelationLossOptions,
} from "../loss/batch_correlation_loss.ts";
import type { CorrelationView, WindowView } from "../stream/batch_result.ts";
import { ruleMessage, windowAndDecayError } from "../core/errors.ts";
import { parseMergeOptions } from "../accumulator/correlation_accumulator_options.ts";
import type { BatchDelta } from "./batch_source.ts";
import { ownOptions } from "../core/own_properties.ts";

/** One worker's (or partition's) committed state, as read from the engine. */
export interface CommittedPart {
  /** The worker's name or the partition's key: the merge order is by this name. */
  name: string;
  /** Its committed snapshot (`toBytes`), if it has committed anything. */
  snapshot: Uint8Array | undefined;
  /** Batches folded into the snapshot. */
  batches: number;
  /** Successful commits. */
  commits: number;
  /** Messages it dead-lettered. */
  deadLetters: number;
}

/** A worker's share in an {@linkcode AggregateRecord}. */
export interface AggregatePartSummary {
  /** The worker's name (or partition key). */
  name: string;
  /** Batches in its committed state. */
  batches: number;
  /** Samples in its committed state. */
  count: number;
  /** Its successful commits. */
  commits: number;
}

/** What the aggregator emits per interval. */
export interface AggregateRecord {
  /** 0-based number of this record since the aggregator started. */
  index: number;
  /** Batches in the running view (every committed batch). */
  batches: number;
  /** Samples in the running view. */
  count: number;
  /** Batches committed since the previous record (from the per-batch log). */
  newBatches: number;
  /** Messages dead-lettered so far. */
  deadLetters: number;
  /** Over every committed batch, merged worker by worker in name order (NaN while empty). */
  running: CorrelationView;
  /** Over the batches committed since the previous record, when there are any. */
  interval?: WindowView;
  /**
   * With the `window` option, over the last `window` committed batches, in
   * commit order; with `decay` λ, over every committed batch in commit order,
   * each batch's samples weighted λ per batch committed after it (as the
   * `window` view of `correlateBatches` with `decay`).
   */
  window?: WindowView;
  /** The workers (or partitions), in merge order. */
  workers: AggregatePartSummary[];
  /**
   * The last batch committed since the previous record (for the first record:
   * the last one committed so far, when the engine keeps a log): its id and metadata.
   */
  lastBatch?: { batchId: string; meta?: Record<string, unknown> };
  /**
   * The running view's state itself, every committed snapshot merged (with
   * the `includeState` option): a fresh accumulator per record, the caller's
   * to keep, read or fold into (the signed correlations before any tolerance,
   * the moments, a snapshot).
   */
  state?: CorrelationAccumulator;
}

/** Options of {@linkcode AggregateView}. */
export interface AggregateViewOptions {
  /** How correlations are thresholded and scalarised (as `BatchCorrelationLoss`). */
  loss?: BatchCorrelationLossOptions;
  /**
   * Also report a view over the last `window` committed batches.
   * @default {undefined}
   */
  window?: number;
  /**
   * Or report a decay view instead: each committed batch's samples weighted
   * `decay` per batch committed after it, in commit order. A number in (0, 1];
   * not with `window`.
   * @default {undefined}
   */
  decay?: number;
  /**
   * `"full"` includes the correlation tensors in each view, `"losses"` only the scalars.
   * @default {"full"}
   */
  output?: "full" | "losses";
  /**
   * Also put the running view's merged accumulator in each record (`state`).
   * @default {false}
   */
  includeState?: boolean;
}

/**
 * Merges committed snapshots in a fixed order (by name, in UTF-16 code unit
 * order), so that every aggregator, restarted or not, gets the same numbers.
 *
 * @param parts The committed states.
 * @param maxElements The largest F·M a snapshot may declare.
 * @returns The merged accumulator (empty when nothing is committed).
 * @throws {BatchCorrError} "invalid_snapshot" for a corrupted snapshot.
 * @throws {TypeError} If two snapshots have different shapes.
 *
 * @example Merging two workers' snapshots
 * ```ts
 * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
 * import { mergeCommitted } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const a = new CorrelationAccumulator().update([[1], [2]], [1, 3]).toBytes();
 * const b = new CorrelationAccumulator().update([[4], [3]], [2, 5]).toBytes();
 * const merged = mergeCommitted([
 *   { name: "w2", snapshot: b, batches: 1, commits: 1, deadLetters: 0 },
 *   { name: "w1", snapshot: a, batches: 1, commits: 1, deadLetters: 0 },
 * ]);
 * assert.equal(merged.count, 4);
 * ```
 */
export function mergeCommitted(
  parts: readonly CommittedPart[],
  maxElements: number = 2 ** 27,
): CorrelationAccumulator {
  const merged = new CorrelationAccumulator({ maxElements });
  for (const part of sortedByName(parts)) {
    if (part.snapshot) {
      merged.merge(CorrelationAccumulator.fromBytes(part.snapshot, { maxElements }));
    }
  }
  return merged;
}

function sortedByName<T extends { name: string }>(parts: readonly T[]): T[] {
  return [...parts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Turns successive reads of the committed state into {@linkcode AggregateRecord}s:
 * the running view from the merged snapshots, the interval view from the
 * per-batch moments committed since the last record, and the window view
 * from the last `window` of them.
 *
 * @example One record from two committed parts
 * ```ts
 * import { CorrelationAccumulator } from "@streamcorr/batch-corr";
 * import { AggregateView } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const view = new AggregateView({ loss: { tol: 0 } });
 * const snapshot = new CorrelationAccumulator().update([[1], [2], [4]], [1, 3, 2]).toBytes();
 * const record = view.record([{ name: "w1", snapshot, batches: 1, commits: 1, deadLetters: 0 }], []);
 * assert.equal(record.count, 3);
 * assert.ok(Number.isFinite(record.running.loss));
 * ```
 */
export class AggregateView {
  #loss: BatchCorrelationLoss;
  #window: number | undefined;
  #full: boolean;
  #includeState: boolean;
  #recent: CorrelationAccumulator[] = [];
  #decay: number | undefined;
  #decayed: CorrelationAccumulator | undefined;
  #index = 0;
  #seededLast: BatchDelta | undefined;

  /**
   * Creates the view.
   *
   * @param options The loss options, the window, the output detail and whether records carry the state.
   * @throws {TypeError} For a malformed option (as `BatchCorrelationLoss`).
   * @throws {TypeError} For a `decay` that is not a number, or both `window` and `decay`.
   * @throws {RangeError} For an out-of-range option, a `window` that is not a positive integer, or
   * a `decay` outside (0, 1].
   */
  constructor(given: AggregateViewOptions = {}) {
    const context = "create the aggregate view";
    // Own properties only (nothing from Object.prototype), each read once.
    const options = ownOptions(given) as AggregateViewOptions;
    this.#loss = new BatchCorrelationLoss(options.loss);
    if (options.window !== undefined && (!Number.isInteger(options.window) || options.window < 1)) {
      throw new RangeError(
        ruleMessage(context, "options.window", "a positive integer", options.window),
      );
    }
    this.#decay = checkedDecay(options.decay, options.window, context);
    if (options.output !== undefined && options.output !== "full" && options.output !== "losses") {
      throw new TypeError(
        ruleMessage(context, "options.output", '"full" or "losses"', options.output),
      );
    }
    if (options.includeState !== undefined && typeof options.includeState !== "boolean") {
      throw new TypeError(
        ruleMessage(context, "options.includeState", "a boolean", options.includeState),
      );
    }
    this.#window = options.window;
    if (this.#decay !== undefined) {
      this.#decayed = new CorrelationAccumulator({ maxElements: this.#loss.options.maxElements });
    }
    this.#full = (options.output ?? "full") === "full";
    this.#includeState = options.includeState ?? false;
  }

  /**
   * Fills the window with batches committed before this view existed (an
   * aggregator that restarts reads the last `window` of them back), without
   * counting them as new. With `decay`, every delta given is folded into the
   * decay view, oldest first, so an aggregator that restarts and passes every
   * batch committed so far gets the decay view it would have had. The last of
   * them is the first record's `lastBatch` when no batch is committed before
   * that record.
   *
   * @param deltas The most recent per-batch moments, oldest first.
   * @returns Nothing.
   * @throws {BatchCorrError} "invalid_snapshot" for a corrupted snapshot.
   */
  seedWindow(deltas: readonly BatchDelta[]): void {
    this.#seededLast = deltas.at(-1) ?? this.#seededLast;
    const maxElements = this.#loss.options.maxElements;
    if (this.#decayed) {
      for (const delta of deltas) {
        this.#foldDecayed(CorrelationAccumulator.fromBytes(delta.snapshot, { maxElements }));
      }
      return;
    }
    if (this.#window === undefined) return;
    for (const delta of deltas.slice(-this.#window)) {
      this.#recent.push(CorrelationAccumulator.fromBytes(delta.snapshot, { maxElements }));
    }
    this.#recent.splice(0, Math.max(0, this.#recent.length - this.#window));
  }

  /**
   * Builds the next record.
   *
   * @param parts Every committed state, in any order.
   * @param deltas The per-batch moments committed since the previous call, in commit order.
   * @param deadLetters Messages dead-lettered so far.
   * @returns The record.
   * @throws {BatchCorrError} "invalid_snapshot" for a corrupted snapshot.
   */
  record(
    parts: readonly CommittedPart[],
    deltas: readonly BatchDelta[],
    deadLetters = 0,
  ): AggregateRecord {
    const maxElements = this.#loss.options.maxElements;
    const ordered = sortedByName(parts);
    const running = new CorrelationAccumulator({ maxElements });
    const workers: AggregatePartSummary[] = [];
    let batches = 0;
    for (const part of ordered) {
      const state = part.snapshot
        ? CorrelationAccumulator.fromBytes(part.snapshot, { maxElements })
        : new CorrelationAccumulator({ maxElements });
      if (state.count > 0) running.merge(state);
      batches += part.batches;
      workers.push({
        name: part.name,
        batches: part.batches,
        count: state.count,
        commits: part.commits,
      });
    }
    const record: AggregateRecord = {
      index: this.#index++,
      batches,
      count: running.count,
      newBatches: deltas.length,
      deadLetters,
      running: this.#view(running),
      workers,
    };
    if (this.#includeState) record.state = running;
    const own = deltas.map((delta) =>
      CorrelationAccumulator.fromBytes(delta.snapshot, { maxElements })
    );
    if (own.length > 0) {
      const interval = new CorrelationAccumulator({ maxElements });
      for (const state of own) interval.merge(state);
      record.interval = { ...this.#view(interval), effectiveCount: interval.count };
    }
    // Before the first record, "since the previous record" is everything committed so far.
    const last = deltas.at(-1) ?? (record.index === 0 ? this.#seededLast : undefined);
    if (last) {
      record.lastBatch = {
        batchId: last.batchId,
        ...(last.meta ? { meta: JSON.parse(last.meta) } : {}),
      };
    }
    if (this.#window !== undefined) {
      this.#recent.push(...own);
      this.#recent.splice(0, Math.max(0, this.#recent.length - this.#window));
      const window = new CorrelationAccumulator({ maxElements });
      for (const state of this.#recent) window.merge(state);
      record.window = { ...this.#view(window), effectiveCount: window.count };
    }
    if (this.#decayed) {
      for (const state of own) this.#foldDecayed(state);
      record.window = {
        ...this.#view(this.#decayed),
        effectiveCount: this.#decayed.effectiveCount,
      };
    }
    return record;
  }

  /** One step of the decay view: the state so far decayed once, then the batch added. */
  #foldDecayed(batch: CorrelationAccumulator): void {
    this.#decayed!.merge(batch, { decay: this.#decay! });
  }

  #view(state: CorrelationAccumulator): CorrelationView {
    if (state.count === 0) return { tol: Number.NaN, loss: Number.NaN };
    const { tol, tolSig, abs, zeroVariance, maxElements, nu, scalarisation } = this.#loss.options;
    let correlations;
    try {
      correlations = state.correlations({ tol, tolSig, abs, zeroVariance, maxElements });
    } catch (error) {
      // tol "auto" needs 3 samples: too few yet is not a failure of the aggregator.
      if (error instanceof RangeError) return { tol: Number.NaN, loss: Number.NaN };
      throw error;
    }
    const view: CorrelationView = {
      tol: correlations.tol,
      loss: nu * scalarisation.reduce(correlations.data),
    };
    if (this.#full) view.correlations = correlations;
    return view;
  }
}

/** The `decay` option: the merge's own rule (a number in (0, 1]), and not with `window`. */
function checkedDecay(
  decay: unknown,
  window: unknown,
  context: string,
): number | undefined {
  if (decay === undefined) return undefined;
  const checked = parseMergeOptions({ decay }, context).decay;
  if (window !== undefined) throw windowAndDecayError(context, window, checked);
  return checked;
}
