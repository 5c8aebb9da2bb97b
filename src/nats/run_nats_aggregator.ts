/**
 * The NATS JetStream aggregator: merges every partition's committed
 * checkpoint, in partition order, into the global running view.
 *
 * @module
 */

import { z } from "zod";
import type { BatchCorrelationLossOptions } from "../loss/batch_correlation_loss.ts";
import { parseOptions } from "../core/parse_options.ts";
import { type AggregateRecord, AggregateView } from "../distributed/aggregate_view.ts";
import { sleep, withRetry } from "../distributed/with_retry.ts";
import { openNats } from "./_client.ts";
import { readPartitions } from "./_committed.ts";
import { checkNatsName, natsLayout } from "./_layout.ts";
import { NATS_RULES } from "./_options.ts";
import type { StreamState } from "./_client.ts";
import type { LastBatch } from "./_partition_store.ts";

/** Options of {@linkcode runNatsAggregator}. */
export interface RunNatsAggregatorOptions {
  /** A `nats://host:port` URL. */
  nats: string;
  /** The stream. */
  stream: string;
  /** The workers' group. */
  group: string;
  /** How correlations are thresholded and scalarised (as `BatchCorrelationLoss`). */
  loss?: BatchCorrelationLossOptions;
  /** `"full"` includes the correlation tensors, `"losses"` only the scalars. @default {"full"} */
  output?: "full" | "losses";
  /**
   * Also put the running view's merged accumulator in each record (`state`),
   * for its signed correlations before the tolerance or a snapshot.
   * @default {false}
   */
  includeState?: boolean;
  /** How often the checkpoints are read. @default {1000} */
  intervalMs?: number;
  /**
   * Stop once every message is acknowledged and no checkpoint has changed for this long.
   * @default {undefined} (run until `signal` aborts)
   */
  untilIdleMs?: number;
  /** Stops the aggregator. */
  signal?: AbortSignal;
  /** How long to keep retrying while NATS does not answer. @default {60000} */
  retryForMs?: number;
}

const schema = z.strictObject({
  nats: z.string(),
  stream: z.string(),
  group: z.string(),
  loss: z.record(z.string(), z.unknown()).optional(),
  output: z.enum(["full", "losses"]).default("full"),
  includeState: z.boolean().default(false),
  intervalMs: z.number().int().positive().default(1000),
  untilIdleMs: z.number().int().nonnegative().optional(),
  signal: z.custom<AbortSignal>((value) => typeof (value as AbortSignal)?.aborted === "boolean")
    .optional(),
  retryForMs: z.number().int().nonnegative().default(60_000),
});

/**
 * Emits an {@linkcode AggregateRecord} whenever a checkpoint has changed:
 * every partition's snapshot merged in partition order (the running view).
 * The JetStream adapter keeps no per-batch log, so records have no interval
 * or window view; `lastBatch` is the batch most recently committed to any
 * partition (each checkpoint keeps its last batch's id and metadata). Stateless: killed and restarted, it recomputes the same
 * running view from the checkpoints.
 *
 * @param options The server, stream, group, loss options and timing.
 * @returns An async generator of records.
 * @throws {TypeError} For a malformed option.
 * @throws {BatchCorrError} "peer_missing", "engine_unavailable", or "invalid_snapshot".
 *
 * @example The running loss until the stream is done
 * ```ts ignore
 * import { runNatsAggregator } from "@streamcorr/batch-corr/nats";
 *
 * for await (const record of runNatsAggregator({ nats: "nats://127.0.0.1:4222", stream: "demo", group: "g", untilIdleMs: 2000 })) {
 *   console.log(record.batches, record.running.loss);
 * }
 * ```
 */
export async function* runNatsAggregator(
  options: RunNatsAggregatorOptions,
): AsyncGenerator<AggregateRecord, void, undefined> {
  const context = "run the NATS aggregator";
  const o = parseOptions(schema, options, context, NATS_RULES);
  const layout = natsLayout(
    checkNatsName(o.stream, "options.stream", context),
    checkNatsName(o.group, "options.group", context),
  );
  const view = new AggregateView({
    ...(o.loss ? { loss: o.loss as BatchCorrelationLossOptions } : {}),
    output: o.output,
    includeState: o.includeState,
  });
  const signal = o.signal as AbortSignal | undefined;
  const nats = await openNats(o.nats, context);
  const retry = <T>(what: string, operation: () => Promise<T>) =>
    withRetry(operation, { retryForMs: o.retryForMs, what, server: nats.server });
  try {
    let signature: string | undefined;
    let lastChange = Date.now();
    for (;;) {
      const cut = await retry("read the checkpoints", () => readPartitions(nats, layout));
      if (cut.revisions !== signature) {
        signature = cut.revisions;
        lastChange = Date.now();
        yield withLastBatch(view.record(cut.parts, [], cut.deadLetters), cut.last);
      }
      if (signal?.aborted) return;
      if (o.untilIdleMs !== undefined && Date.now() - lastChange >= o.untilIdleMs) {
        const info = await retry(
          "read the stream's state",
          (): Promise<StreamState> => nats.jsm.streams.info(layout.stream),
        );
        if (info.state.messages === 0) {
          const last = await retry("read the checkpoints", () => readPartitions(nats, layout));
          if (last.revisions !== signature) {
            yield withLastBatch(view.record(last.parts, [], last.deadLetters), last.last);
          }
          return;
        }
      }
      await sleep(o.intervalMs, signal);
      if (signal?.aborted) return;
    }
  } finally {
    await nats.close();
  }
}

/** The most recently committed batch of any partition, as the record's `lastBatch`. */
function withLastBatch(record: AggregateRecord, last: LastBatch | undefined): AggregateRecord {
  if (last) {
    record.lastBatch = { batchId: last.batchId, ...(last.meta ? { meta: last.meta } : {}) };
  }
  return record;
}
