/**
 * The Redis Streams producer: each batch becomes one stream entry holding its
 * binary envelope, added at most once per batch id.
 *
 * @module
 */

import { z } from "zod";
import { parseOptions } from "../core/parse_options.ts";
import type { EnvelopeDtype } from "../distributed/batch_envelope.ts";
import {
  encodedBatches,
  type PublishableBatch,
  type PublishedBatch,
  type PublishSummary,
} from "../distributed/publishable_batch.ts";
import { withRetry } from "../distributed/with_retry.ts";
import { evalScript, int, openRedis, type RedisConnection, text } from "./_client.ts";
import { checkKeyName, streamKeys } from "./_keys.ts";
import {
  connectionSchema,
  functionSchema,
  msSchema,
  REDIS_RULES,
  signalSchema,
} from "./_options.ts";
import { PUBLISH } from "./_scripts.ts";

export type { PublishableBatch, PublishedBatch, PublishSummary };

/** Options of {@linkcode publishRedisBatches}. */
export interface PublishRedisBatchesOptions {
  /** A `redis://host:port` URL or an ioredis client. */
  redis: RedisConnection;
  /** The stream to add to (created if missing). */
  stream: string;
  /**
   * The id of a batch without one is `idPrefix` + its 0-based index in
   * `batches`. Ids are what makes a retry safe: publishing the same input
   * again (after a crash, a lost reply) adds nothing. Use a prefix per input
   * (a file name, a date): two inputs with the same ids would collide, and the
   * second's batches would be reported as duplicates.
   * @default {"batch-"}
   */
  idPrefix?: string;
  /** The payload's element type. @default {"float64"} */
  dtype?: EnvelopeDtype;
  /**
   * How many publishes may wait for Redis's reply at once.
   * @default {8}
   */
  inFlight?: number;
  /** Stops publishing after the batches in flight. */
  signal?: AbortSignal;
  /** How long to keep retrying while Redis does not answer. @default {60000} */
  retryForMs?: number;
  /** Called for every batch once Redis has answered. */
  onPublished?: (event: PublishedBatch) => void;
}

const schema = z.strictObject({
  redis: connectionSchema,
  stream: z.string(),
  idPrefix: z.string().default("batch-"),
  dtype: z.enum(["float64", "float32"]).default("float64"),
  inFlight: z.number().int().min(1).max(64).default(8),
  signal: signalSchema.optional(),
  retryForMs: msSchema.default(60_000),
  onPublished: functionSchema.optional(),
});

/**
 * Publishes batches to a Redis stream, one entry per batch, in input order.
 * Each entry is added by a Lua script that first checks the batch's id in
 * the stream's `published` hash, so a retried publish (a lost reply, a rerun
 * of the whole input) never adds a batch twice.
 *
 * @param batches The batches, from an array, a generator or an async iterable.
 * @param options The server, the stream, the ids and the element type.
 * @returns How many batches were added and how many were already there.
 * @throws {TypeError} For a malformed option or batch (as `encodeBatchEnvelope`).
 * @throws {BatchCorrError} "peer_missing" when ioredis is not installed;
 * "engine_unavailable" when Redis is unreachable for longer than `retryForMs`.
 *
 * @example Publishing twice adds once
 * ```ts ignore
 * import { publishRedisBatches } from "@streamcorr/batch-corr/redis";
 *
 * const batches = [{ x: [[1], [2], [4]], n: [1, 3, 2] }];
 * await publishRedisBatches(batches, { redis: "redis://127.0.0.1:6379", stream: "demo" }); // added: 1
 * await publishRedisBatches(batches, { redis: "redis://127.0.0.1:6379", stream: "demo" }); // duplicates: 1
 * ```
 */
export async function publishRedisBatches(
  batches: Iterable<PublishableBatch> | AsyncIterable<PublishableBatch>,
  options: PublishRedisBatchesOptions,
): Promise<PublishSummary> {
  const context = "publish batches to Redis";
  const o = parseOptions(schema, options, context, REDIS_RULES);
  const stream = checkKeyName(o.stream, "options.stream", context);
  const encoded = encodedBatches(batches, { idPrefix: o.idPrefix, dtype: o.dtype, context });
  const keys = streamKeys(stream);
  const opened = await openRedis(o.redis as RedisConnection, context);
  const summary: PublishSummary = { batches: 0, added: 0, duplicates: 0, bytes: 0 };
  const inFlight = new Set<Promise<void>>();
  const onPublished = o.onPublished as PublishRedisBatchesOptions["onPublished"];
  try {
    for await (const { batchId, index: position, envelope } of encoded) {
      if ((o.signal as AbortSignal | undefined)?.aborted) break;
      summary.batches++;
      summary.bytes += envelope.length;
      const send = withRetry(
        () =>
          evalScript(opened.client, PUBLISH, [keys.stream, keys.published], [
            batchId,
            envelope,
          ]) as Promise<unknown[]>,
        {
          retryForMs: o.retryForMs,
          what: `publish batch ${JSON.stringify(batchId)} to stream ${stream}`,
          server: opened.server,
        },
      ).then((reply) => {
        const added = int(reply[0]) === 1;
        const entryId = text(reply[1]);
        if (added) summary.added++;
        else summary.duplicates++;
        summary.lastEntryId = entryId;
        onPublished?.({ batchId, entryId, added, index: position });
      });
      const tracked = send.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= o.inFlight) await Promise.race(inFlight);
    }
  } catch (error) {
    await Promise.allSettled(inFlight);
    await opened.close();
    throw error;
  }
  const results = await Promise.allSettled(inFlight);
  await opened.close();
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return summary;
}
