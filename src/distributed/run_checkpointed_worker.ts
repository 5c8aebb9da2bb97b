/**
 * The worker loop over any {@linkcode BatchSource} and {@linkcode CheckpointStore}:
 * receive, fold, commit atomically, and on a refused or failed commit reload
 * the committed state and re-read the messages still owned.
 *
 * @module
 */

import type { BatchDelivery, BatchSource, CheckpointStore } from "./batch_source.ts";
import { CheckpointedFold, type FoldStep } from "./checkpointed_fold.ts";
import { distributedError, hasDistributedCode } from "./distributed_error.ts";
import { withRetry } from "./with_retry.ts";
import { ownOptions } from "../core/own_properties.ts";
import { ruleMessage, thrownText } from "../core/errors.ts";

/** Options of {@linkcode runCheckpointedWorker}. */
export interface RunCheckpointedWorkerOptions {
  /** Where the messages come from. */
  source: BatchSource;
  /** Where the state is committed. */
  store: CheckpointStore;
  /**
   * The most messages folded into one commit.
   * @default {1}
   */
  batchesPerCommit?: number;
  /**
   * Ask for the next messages (without waiting) while the current ones are
   * folded and committed, so that the broker sends the next batch while this
   * one is folded. The messages read ahead are owned by this worker as soon as
   * they are read: on a stop they are folded and committed too, and a crash
   * leaves them to be claimed like the ones in hand.
   * @default {false}
   */
  readAhead?: boolean;
  /**
   * Stop once every message is acknowledged and nothing new has arrived for
   * this many milliseconds. Without it the worker runs until `signal` aborts.
   * @default {undefined}
   */
  untilIdleMs?: number;
  /**
   * Stops the worker: the batch in hand is folded and committed, then the
   * call returns.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Keep retrying a broker that does not answer (a restart, a network cut)
   * for this long before giving up with "engine_unavailable".
   * @default {60000}
   */
  retryForMs?: number;
  /** The server, for messages. @default {"the broker"} */
  server?: string;
  /**
   * The largest F·M a batch or the state may have.
   * @default {134217728}
   */
  maxElements?: number;
  /**
   * A message delivered more often than this without a commit is dead-lettered.
   * @default {10}
   */
  maxDeliveries?: number;
  /**
   * Commit each batch's own moments beside the state, for window views.
   * @default {true}
   */
  deltas?: boolean;
  /** Awaited after folding and before committing (instrumentation; tests pause here). */
  beforeCommit?: (step: FoldStep) => void | Promise<void>;
  /** Called after every commit attempt with its outcome. */
  onCommit?: (step: FoldStep) => void | Promise<void>;
  /** Called when the broker fails and the call is retried. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** What a worker did before it stopped. */
export interface WorkerSummary {
  /** Batches folded in by this worker's successful commits. */
  batches: number;
  /** Samples in those batches. */
  samples: number;
  /** Successful commits. */
  commits: number;
  /** Commits refused by the fence (the batches went to another worker or were re-read). */
  refusedCommits: number;
  /** Commits whose outcome was unknown (the broker failed mid-commit): the state was reloaded. */
  failedCommits: number;
  /** Messages dead-lettered by this worker. */
  deadLetters: number;
  /** Messages skipped as already committed. */
  skipped: number;
  /** Why the worker stopped. */
  stoppedBy: "idle" | "signal";
  /** The committed state's sample count when the worker stopped. */
  count: number;
}

/**
 * Runs a worker until it is idle (`untilIdleMs`) or `signal` aborts.
 *
 * Exactly once: a batch enters the committed state only through a commit
 * that also acknowledges it; a refused commit (the worker lost the messages to
 * another one) or a failed one (the broker went away mid-commit) throws the
 * in-memory fold away, reloads the committed state and re-reads the messages
 * still owned, so whatever happened, each batch is counted in exactly one
 * committed state.
 *
 * @param options The source, the store and the loop's settings.
 * @returns What the worker did.
 * @throws {RangeError} If `batchesPerCommit`, `untilIdleMs` or `retryForMs` is out of range.
 * @throws {BatchCorrError} "engine_unavailable" if the broker failed for longer than `retryForMs`;
 * "commit_refused" if the store fences this process off for good (another process took its name);
 * "invalid_snapshot" if the committed snapshot is corrupted.
 *
 * @example A worker over an in-memory queue
 * ```ts
 * import { encodeBatchEnvelope, runCheckpointedWorker, type BatchDelivery } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const queue: BatchDelivery[] = [
 *   { id: "1", payload: encodeBatchEnvelope({ id: "a", x: [[1], [2], [4]], n: [1, 3, 2] }), deliveries: 1 },
 *   { id: "2", payload: encodeBatchEnvelope({ id: "b", x: [[3], [5]], n: [5, 4] }), deliveries: 1 },
 * ];
 * let saved: Uint8Array | undefined;
 * const summary = await runCheckpointedWorker({
 *   source: {
 *     receive: ({ max }) => Promise.resolve(queue.splice(0, max)),
 *     rewind: () => {},
 *     drained: () => Promise.resolve(queue.length === 0),
 *   },
 *   store: {
 *     load: () => Promise.resolve({ snapshot: saved, watermark: undefined, fence: "0" }),
 *     commit: (c) => { saved = c.snapshot; return Promise.resolve({ committed: true, fence: "0" }); },
 *   },
 *   untilIdleMs: 0,
 * });
 * assert.deepEqual([summary.batches, summary.samples, summary.commits], [2, 5, 2]);
 * ```
 */
export async function runCheckpointedWorker(
  options: RunCheckpointedWorkerOptions,
): Promise<WorkerSummary> {
  const context = "run the worker";
  // Own properties only (nothing from Object.prototype), each read once.
  options = ownOptions(options) as RunCheckpointedWorkerOptions;
  const batchesPerCommit = integerAtLeast(
    options.batchesPerCommit ?? 1,
    1,
    "options.batchesPerCommit",
    context,
  );
  const untilIdleMs = options.untilIdleMs === undefined
    ? undefined
    : integerAtLeast(options.untilIdleMs, 0, "options.untilIdleMs", context);
  const retryForMs = integerAtLeast(options.retryForMs ?? 60_000, 0, "options.retryForMs", context);
  const { source, store, signal } = options;
  const fold = new CheckpointedFold(store, {
    ...(options.maxElements === undefined ? {} : { maxElements: options.maxElements }),
    ...(options.maxDeliveries === undefined ? {} : { maxDeliveries: options.maxDeliveries }),
    deltas: options.deltas ?? true,
  });
  const policy = (what: string) => ({
    retryForMs,
    what,
    server: options.server ?? "the broker",
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
  });
  const summary: WorkerSummary = {
    batches: 0,
    samples: 0,
    commits: 0,
    refusedCommits: 0,
    failedCommits: 0,
    deadLetters: 0,
    skipped: 0,
    stoppedBy: "signal",
    count: 0,
  };
  const reload = async () => {
    await withRetry(() => fold.load(), policy("load the committed checkpoint"));
    source.rewind();
  };
  const receive = (wait: boolean) =>
    withRetry(
      () => source.receive({ max: batchesPerCommit, wait, ...(signal ? { signal } : {}) }),
      { ...policy("receive batches"), signal },
    );
  let ahead: Promise<BatchDelivery[]> | undefined;
  // Before a rewind: a read still in flight would move the source's cursor after it.
  const dropAhead = async () => {
    if (ahead) await ahead.catch(() => []);
    ahead = undefined;
  };
  await reload();
  let lastActivity = Date.now();
  let failingSince: number | undefined;
  while (!signal?.aborted || ahead) {
    const deliveries = await (ahead ?? receive(true));
    ahead = undefined;
    if (deliveries.length === 0) {
      if (untilIdleMs !== undefined && Date.now() - lastActivity >= untilIdleMs) {
        const drained = await withRetry(
          () => source.drained(),
          policy("check for unacknowledged batches"),
        );
        if (drained) {
          summary.stoppedBy = "idle";
          break;
        }
      }
      continue;
    }
    lastActivity = Date.now();
    if (options.readAhead === true && !signal?.aborted) {
      ahead = receive(false);
      // Its failure is seen when it is awaited, not as an unhandled rejection meanwhile.
      ahead.catch(() => {});
    }
    let step: FoldStep;
    try {
      step = await fold.step(deliveries, options.beforeCommit);
    } catch (error) {
      // A store that fences this process off for good says so; anything else is the broker failing.
      if (hasDistributedCode(error, "commit_refused")) throw error;
      // The commit may or may not have happened: only the store knows.
      summary.failedCommits++;
      failingSince ??= Date.now();
      if (Date.now() - failingSince > retryForMs) {
        throw distributedError(
          "engine_unavailable",
          `Cannot commit as ${
            options.server ?? "the broker"
          } must accept a commit within ${retryForMs} ms of retrying: current state is ${summary.failedCommits} failed commits, the last with "${
            thrownText(error)
          }"`,
          { cause: error },
        );
      }
      await dropAhead();
      await reload();
      continue;
    }
    failingSince = undefined;
    if (step.committed) {
      summary.commits++;
      summary.batches += step.folded.length;
      summary.samples += step.samples;
      summary.deadLetters += step.deadLetters.length;
      summary.skipped += step.skipped.length;
    } else {
      summary.refusedCommits++;
    }
    await withRetry(
      () => source.settle?.(deliveries, step.committed) ?? Promise.resolve(),
      policy("settle batches"),
    );
    if (!step.committed) {
      await dropAhead();
      await reload();
    }
    await options.onCommit?.(step);
    lastActivity = Date.now();
  }
  summary.count = fold.state.count;
  return summary;
}

function integerAtLeast(value: unknown, min: number, name: string, context: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    const message = ruleMessage(context, name, `an integer ≥ ${min}`, value);
    throw typeof value === "number" ? new RangeError(message) : new TypeError(message);
  }
  return value;
}
