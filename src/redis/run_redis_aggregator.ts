/**
 * The Redis Streams aggregator: reads every worker's committed snapshot and
 * emits the global running view (and interval and window or decay views) per interval.
 *
 * @module
 */

import { z } from "zod";
import type { BatchCorrelationLossOptions } from "../loss/batch_correlation_loss.ts";
import { parseOptions } from "../core/parse_options.ts";
import { type AggregateRecord, AggregateView } from "../distributed/aggregate_view.ts";
import { sleep, withRetry } from "../distributed/with_retry.ts";
import { evalScript, int, openRedis, type RedisConnection } from "./_client.ts";
import { readCut, readLog, readLogTail } from "./_committed.ts";
import { checkKeyName, streamKeys } from "./_keys.ts";
import { connectionSchema, msSchema, REDIS_RULES, signalSchema } from "./_options.ts";
import { DRAINED } from "./_scripts.ts";

/** Options of {@linkcode runRedisAggregator}. */
export interface RunRedisAggregatorOptions {
  /** A `redis://host:port` URL or an ioredis client. */
  redis: RedisConnection;
  /** The stream. */
  stream: string;
  /** The workers' consumer group. */
  group: string;
  /** How correlations are thresholded and scalarised (as `BatchCorrelationLoss`). */
  loss?: BatchCorrelationLossOptions;
  /**
   * Also report a view over the last `window` committed batches (at most the
   * workers' `logLength`).
   * @default {undefined}
   */
  window?: number;
  /**
   * Or report a decay view: every committed batch in commit order, each
   * batch's samples weighted `decay` per batch committed after it (a number
   * in (0, 1], not with `window`). A restarted aggregator rebuilds it from the
   * per-batch log, so it equals the uninterrupted view while the log holds
   * every committed batch (the workers' `logLength`, default 1000); after that
   * the batches trimmed from the log, each weighted at most `decay` to the
   * power of the log's length, are left out. Like `window`, it needs the
   * workers' per-batch log: with `logLength: 0` it stays empty (NaN).
   * @default {undefined}
   */
  decay?: number;
  /** `"full"` includes the correlation tensors, `"losses"` only the scalars. @default {"full"} */
  output?: "full" | "losses";
  /**
   * Also put the running view's merged accumulator in each record (`state`),
   * for its signed correlations before the tolerance or a snapshot.
   * @default {false}
   */
  includeState?: boolean;
  /**
   * How often the committed state is read.
   * @default {1000}
   */
  intervalMs?: number;
  /**
   * Stop once every entry of the stream is acknowledged and no commit has
   * happened for this many milliseconds (the last record is emitted first).
   * @default {undefined} (run until `signal` aborts)
   */
  untilIdleMs?: number;
  /** Stops the aggregator after the record in hand. */
  signal?: AbortSignal;
  /** How long to keep retrying while Redis does not answer. @default {60000} */
  retryForMs?: number;
}

const schema = z.strictObject({
  redis: connectionSchema,
  stream: z.string(),
  group: z.string(),
  loss: z.record(z.string(), z.unknown()).optional(),
  window: z.number().int().positive().optional(),
  decay: z.number().gt(0).lte(1).optional(),
  output: z.enum(["full", "losses"]).default("full"),
  includeState: z.boolean().default(false),
  intervalMs: msSchema.min(1).default(1000),
  untilIdleMs: msSchema.optional(),
  signal: signalSchema.optional(),
  retryForMs: msSchema.default(60_000),
});

/**
 * Emits an {@linkcode AggregateRecord} whenever the committed state has
 * changed: every worker's snapshot merged in name order (the running view,
 * equal to `correlateBatches` over all committed batches up to rounding), the
 * batches committed since the last record and, with `window`, the last
 * `window` committed batches (with `decay`, a decay view over every committed
 * batch instead). The aggregator keeps nothing of its own: killed
 * and restarted at any time, it recomputes the same running view from what is
 * committed, so it never double counts.
 *
 * @param options The server, stream, group, loss options and timing.
 * @returns An async generator of records; it ends when idle (`untilIdleMs`) or
 * when `signal` aborts, and closes its connection when it ends or is broken out of.
 * @throws {TypeError} For a malformed option.
 * @throws {RangeError} For an out-of-range option.
 * @throws {BatchCorrError} "peer_missing", "engine_unavailable", or
 * "invalid_snapshot" for a corrupted committed snapshot.
 *
 * @example Printing the running loss until the stream is done
 * ```ts ignore
 * import { runRedisAggregator } from "@streamcorr/batch-corr/redis";
 *
 * for await (const record of runRedisAggregator({ redis: "redis://127.0.0.1:6379", stream: "demo", group: "g", untilIdleMs: 2000 })) {
 *   console.log(record.batches, record.count, record.running.loss);
 * }
 * ```
 */
export async function* runRedisAggregator(
  options: RunRedisAggregatorOptions,
): AsyncGenerator<AggregateRecord, void, undefined> {
  const context = "run the Redis aggregator";
  const o = parseOptions(schema, options, context, REDIS_RULES);
  const stream = checkKeyName(o.stream, "options.stream", context);
  const group = checkKeyName(o.group, "options.group", context);
  const view = new AggregateView({
    ...(o.loss ? { loss: o.loss as BatchCorrelationLossOptions } : {}),
    ...(o.window === undefined ? {} : { window: o.window }),
    ...(o.decay === undefined ? {} : { decay: o.decay }),
    output: o.output,
    includeState: o.includeState,
  });
  const signal = o.signal as AbortSignal | undefined;
  const keys = streamKeys(stream, group);
  const opened = await openRedis(o.redis as RedisConnection, context);
  const retry = <T>(what: string, operation: () => Promise<T>) =>
    withRetry(operation, { retryForMs: o.retryForMs, what, server: opened.server });
  try {
    const client = opened.client;
    let cut = await retry("read the committed state", () => readCut(client, keys));
    // The window's batches (a decay view: the whole log), or at least the last
    // one (the first record's lastBatch).
    const lastLogId = cut.lastLogId;
    view.seedWindow(
      await retry(
        "read the batch log",
        () =>
          o.decay === undefined
            ? readLogTail(client, keys, lastLogId, o.window ?? 1)
            : readLog(client, keys, "", lastLogId),
      ),
    );
    let cursor = cut.lastLogId;
    let signature = "";
    let lastChange = Date.now();
    for (let first = true;; first = false) {
      if (!first) cut = await retry("read the committed state", () => readCut(client, keys));
      const from = cursor, until = cut.lastLogId;
      const deltas = first
        ? []
        : await retry("read the batch log", () => readLog(client, keys, from, until));
      cursor = cut.lastLogId || cursor;
      const now = cut.parts.map((p) => `${p.name}:${p.commits}`).join(",") + `|${cut.deadLetters}`;
      if (first || now !== signature || deltas.length > 0) {
        signature = now;
        lastChange = Date.now();
        yield view.record(cut.parts, deltas, cut.deadLetters);
      }
      if (signal?.aborted) return;
      if (o.untilIdleMs !== undefined && Date.now() - lastChange >= o.untilIdleMs) {
        const drained = await retry(
          "check for unacknowledged batches",
          () => evalScript(client, DRAINED, [stream], [group]) as Promise<unknown[]>,
        );
        if (int(drained[0]) === 1) {
          // A commit may have landed since the last read: end on the final state.
          const last = await retry("read the committed state", () => readCut(client, keys));
          const finalSignature = last.parts.map((p) => `${p.name}:${p.commits}`).join(",") +
            `|${last.deadLetters}`;
          if (finalSignature !== signature) {
            const from = cursor, until = last.lastLogId;
            const deltas = await retry(
              "read the batch log",
              () => readLog(client, keys, from, until),
            );
            yield view.record(last.parts, deltas, last.deadLetters);
          }
          return;
        }
      }
      await sleep(o.intervalMs, signal);
      if (signal?.aborted) return;
    }
  } finally {
    await opened.close();
  }
}
