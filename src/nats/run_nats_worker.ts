/**
 * The NATS JetStream worker: pulls from the partitions' durable consumers,
 * folds each message into that partition's checkpoint and commits it by
 * compare-and-set in a KV bucket, then acknowledges.
 *
 * @module
 */

import { z } from "zod";
import { parseOptions } from "../core/parse_options.ts";
import type { BatchDelivery } from "../distributed/batch_source.ts";
import { CheckpointedFold, type FoldStep } from "../distributed/checkpointed_fold.ts";
import type { WorkerSummary } from "../distributed/run_checkpointed_worker.ts";
import { sleep, withRetry } from "../distributed/with_retry.ts";
import { openNats } from "./_client.ts";
import { checkNatsName, ensureGroup, natsLayout, partitionCount } from "./_layout.ts";
import { PartitionStore } from "./_partition_store.ts";
import { NATS_RULES } from "./_options.ts";
import type { ConsumerState, PullConsumer, PulledMessage, StreamState } from "./_client.ts";

/** Options of {@linkcode runNatsWorker}. */
export interface RunNatsWorkerOptions {
  /** A `nats://host:port` URL. */
  nats: string;
  /** The stream the batches were published to (created by the publisher). */
  stream: string;
  /** The group: its consumers and checkpoints are named after it (one group per stream: a work queue). */
  group: string;
  /**
   * How long a message may stay unacknowledged at a worker before JetStream
   * redelivers it to another (set when the group's consumers are created).
   * A worker slower than this has its commit refused.
   * @default {30000}
   */
  ackWaitMs?: number;
  /**
   * Stop once every message is acknowledged and nothing new has arrived for this long.
   * @default {undefined} (run until `signal` aborts)
   */
  untilIdleMs?: number;
  /** Stops the worker after the batch in hand is committed. */
  signal?: AbortSignal;
  /** How long to keep retrying while NATS does not answer. @default {60000} */
  retryForMs?: number;
  /** The largest F·M allowed. @default {134217728} */
  maxElements?: number;
  /** A message delivered more often than this without a commit is dead-lettered. @default {10} */
  maxDeliveries?: number;
  /** Awaited after folding, before the compare-and-set commit. */
  beforeCommit?: (step: FoldStep) => void | Promise<void>;
  /** Called after every commit attempt. */
  onCommit?: (step: FoldStep) => void | Promise<void>;
}

const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === "function");
const schema = z.strictObject({
  nats: z.string(),
  stream: z.string(),
  group: z.string(),
  ackWaitMs: z.number().int().min(100).max(2 ** 31 - 1).default(30_000),
  untilIdleMs: z.number().int().nonnegative().optional(),
  signal: z.custom<AbortSignal>((value) => typeof (value as AbortSignal)?.aborted === "boolean")
    .optional(),
  retryForMs: z.number().int().nonnegative().default(60_000),
  maxElements: z.number().int().positive().optional(),
  maxDeliveries: z.number().int().positive().optional(),
  beforeCommit: fn.optional(),
  onCommit: fn.optional(),
});

/**
 * Runs a worker of a JetStream batch stream until it is idle or stopped.
 *
 * Each partition has one durable pull consumer that hands out one message at
 * a time, so a partition's messages are folded in stream order; its
 * checkpoint `{ snapshot, watermark }` lives in a KV key. A worker reads the
 * checkpoint and its revision, folds the message, writes the checkpoint with
 * `update(key, value, revision)` and only then acknowledges. A stalled worker
 * whose message was redelivered to another finds the revision moved and its
 * write refused; a message redelivered after a commit whose acknowledgement
 * was lost sits at or below the watermark and is skipped. Acknowledgements
 * are never what makes a batch count once: the checkpoint is.
 *
 * @param options The server, stream, group and loop settings.
 * @returns What the worker did.
 * @throws {TypeError} For a malformed option.
 * @throws {BatchCorrError} "peer_missing" when the `@nats-io/*` packages are not
 * installed; "engine_unavailable" when NATS is unreachable for longer than `retryForMs`.
 *
 * @example A worker until idle
 * ```ts ignore
 * import { runNatsWorker } from "@streamcorr/batch-corr/nats";
 *
 * const summary = await runNatsWorker({ nats: "nats://127.0.0.1:4222", stream: "demo", group: "g", untilIdleMs: 1000 });
 * console.log(summary.batches, summary.refusedCommits);
 * ```
 */
export async function runNatsWorker(options: RunNatsWorkerOptions): Promise<WorkerSummary> {
  const context = "run the NATS worker";
  const o = parseOptions(schema, options, context, NATS_RULES);
  const stream = checkNatsName(o.stream, "options.stream", context);
  const group = checkNatsName(o.group, "options.group", context);
  const layout = natsLayout(stream, group);
  const signal = o.signal as AbortSignal | undefined;
  const nats = await openNats(o.nats, context);
  const retry = <T>(what: string, operation: () => Promise<T>) =>
    withRetry(operation, { retryForMs: o.retryForMs, what, server: nats.server, signal });
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
  try {
    const partitions = await retry(`find stream ${stream}`, () => partitionCount(nats, layout));
    const { checkpoints } = await retry(
      "create the group's consumers",
      () => ensureGroup(nats, layout, partitions, o.ackWaitMs),
    );
    const parts = await Promise.all(Array.from({ length: partitions }, async (_, k) => ({
      consumer: await retry(
        "open a consumer",
        (): Promise<PullConsumer> => nats.js.consumers.get(stream, layout.consumer(k)),
      ),
      fold: new CheckpointedFold(new PartitionStore(nats, layout, checkpoints, k), {
        deltas: false,
        ...(o.maxElements === undefined ? {} : { maxElements: o.maxElements }),
        ...(o.maxDeliveries === undefined ? {} : { maxDeliveries: o.maxDeliveries }),
      }),
    })));
    let lastActivity = Date.now();
    let start = Math.floor(Math.random() * partitions);
    while (!signal?.aborted) {
      let worked = false;
      for (let i = 0; i < partitions && !signal?.aborted; i++) {
        const part = parts[(start + i) % partitions]!;
        const info = await retry(
          "read a consumer's state",
          (): Promise<ConsumerState> => part.consumer.info(),
        );
        if (info.num_pending === 0 && info.num_ack_pending === 0) continue;
        const messages: PulledMessage[] = [];
        await retry("fetch a batch", async () => {
          const batch = await part.consumer.fetch({ max_messages: 1, expires: 1000 });
          for await (const message of batch) messages.push(message);
        });
        if (messages.length === 0) continue;
        worked = true;
        lastActivity = Date.now();
        const deliveries: BatchDelivery[] = messages.map((m) => ({
          id: String(m.seq),
          position: m.seq,
          payload: new Uint8Array(m.data),
          deliveries: m.info?.deliveryCount ?? 1,
        }));
        let step: FoldStep | undefined;
        try {
          // Another worker may have advanced this partition since: start from its latest checkpoint.
          await retry("load the partition's checkpoint", () => part.fold.load());
          step = await part.fold.step(
            deliveries,
            o.beforeCommit as RunNatsWorkerOptions["beforeCommit"],
          );
        } catch {
          summary.failedCommits++;
        }
        if (step?.committed) {
          for (const message of messages) message.ack();
          summary.commits++;
          summary.batches += step.folded.length;
          summary.samples += step.samples;
          summary.deadLetters += step.deadLetters.length;
          summary.skipped += step.skipped.length;
        } else {
          if (step) summary.refusedCommits++;
          for (const message of messages) message.nak();
        }
        if (step) await (o.onCommit as RunNatsWorkerOptions["onCommit"])?.(step);
      }
      start = (start + 1) % partitions;
      if (worked) continue;
      if (o.untilIdleMs !== undefined && Date.now() - lastActivity >= o.untilIdleMs) {
        const state = await retry(
          "read the stream's state",
          (): Promise<StreamState> => nats.jsm.streams.info(stream),
        );
        if (state.state.messages === 0) {
          summary.stoppedBy = "idle";
          break;
        }
      }
      await sleep(100, signal);
    }
    summary.count = parts.reduce((total, part) => total + part.fold.state.count, 0);
    return summary;
  } finally {
    await nats.close();
  }
}
