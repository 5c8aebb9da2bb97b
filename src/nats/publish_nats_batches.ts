/**
 * The NATS JetStream producer: each batch becomes one message in its
 * partition's subject, added at most once per batch id.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { z } from "zod";
import { BatchCorrError } from "../core/errors.ts";
import { parseOptions } from "../core/parse_options.ts";
import {
  encodedBatches,
  type PublishableBatch,
  type PublishedBatch,
  type PublishSummary,
} from "../distributed/publishable_batch.ts";
import { withRetry } from "../distributed/with_retry.ts";
import { openNats } from "./_client.ts";
import { checkNatsName, ensureStream, natsLayout, openBucket } from "./_layout.ts";
import { NATS_RULES } from "./_options.ts";

/** Options of {@linkcode publishNatsBatches}. */
export interface PublishNatsBatchesOptions {
  /** A `nats://host:port` URL. */
  nats: string;
  /** The stream (created as a work queue when missing). */
  stream: string;
  /**
   * Partitions of a new stream: the most workers that can fold at once. An
   * existing stream keeps its own.
   * @default {4}
   */
  partitions?: number;
  /** Ids of batches without one: `idPrefix` + index. @default {"batch-"} */
  idPrefix?: string;
  /** The payload's element type. @default {"float64"} */
  dtype?: "float64" | "float32";
  /**
   * JetStream's de-duplication window of a new stream. A publish is also
   * guarded by a marker in a KV bucket, written after JetStream accepted it;
   * the window covers a crash between the two.
   * @default {600000}
   */
  duplicateWindowMs?: number;
  /** Stops publishing. */
  signal?: AbortSignal;
  /** How long to keep retrying while NATS does not answer. @default {60000} */
  retryForMs?: number;
  /** Called for every batch once NATS has answered. */
  onPublished?: (event: PublishedBatch) => void;
}

const schema = z.strictObject({
  nats: z.string(),
  stream: z.string(),
  partitions: z.number().int().min(1).max(256).default(4),
  idPrefix: z.string().default("batch-"),
  dtype: z.enum(["float64", "float32"]).default("float64"),
  duplicateWindowMs: z.number().int().positive().default(600_000),
  signal: z.custom<AbortSignal>((value) => typeof (value as AbortSignal)?.aborted === "boolean")
    .optional(),
  retryForMs: z.number().int().nonnegative().default(60_000),
  onPublished: z.custom<(event: PublishedBatch) => void>((value) => typeof value === "function")
    .optional(),
});

/**
 * Publishes batches to a JetStream work-queue stream. A batch goes to
 * partition `hash(id) mod partitions`; its publish carries the id as
 * `Nats-Msg-Id` (JetStream drops a repeat within the de-duplication window)
 * and is skipped outright when the id's marker is already in the stream's
 * `published` bucket, so a retried or rerun publish never adds a batch twice.
 *
 * @param batches The batches.
 * @param options The server, stream, partitions and ids.
 * @returns How many batches were added and how many were already there.
 * @throws {TypeError} For a malformed option or batch.
 * @throws {BatchCorrError} "peer_missing", "engine_unavailable", or "resource_limit"
 * for an envelope larger than the server's `max_payload`.
 *
 * @example Publishing to a stream of 4 partitions
 * ```ts ignore
 * import { publishNatsBatches } from "@streamcorr/batch-corr/nats";
 *
 * await publishNatsBatches([{ x: [[1], [2], [4]], n: [1, 3, 2] }], { nats: "nats://127.0.0.1:4222", stream: "demo" });
 * ```
 */
export async function publishNatsBatches(
  batches: Iterable<PublishableBatch> | AsyncIterable<PublishableBatch>,
  options: PublishNatsBatchesOptions,
): Promise<PublishSummary> {
  const context = "publish batches to NATS";
  const o = parseOptions(schema, options, context, NATS_RULES);
  const stream = checkNatsName(o.stream, "options.stream", context);
  const encoded = encodedBatches(batches, { idPrefix: o.idPrefix, dtype: o.dtype, context });
  const layout = natsLayout(stream);
  const nats = await openNats(o.nats, context);
  const retry = <T>(what: string, operation: () => Promise<T>) =>
    withRetry(operation, { retryForMs: o.retryForMs, what, server: nats.server });
  const summary: PublishSummary = { batches: 0, added: 0, duplicates: 0, bytes: 0 };
  try {
    const partitions = await retry(
      `create stream ${stream}`,
      () => ensureStream(nats, layout, o.partitions, o.duplicateWindowMs),
    );
    const markers = await retry(
      "open the publish markers",
      () => openBucket(nats, layout.published),
    );
    for await (const { batchId, index: position, envelope } of encoded) {
      if ((o.signal as AbortSignal | undefined)?.aborted) break;
      if (envelope.length > nats.maxPayload) {
        throw new BatchCorrError(
          "resource_limit",
          `Cannot ${context} as each batch envelope must fit the server's max_payload (${nats.maxPayload} bytes): current batch ${
            JSON.stringify(batchId)
          } takes ${envelope.length} bytes; raise max_payload in nats-server's configuration (up to 64 MB) or publish smaller batches`,
        );
      }
      summary.batches++;
      summary.bytes += envelope.length;
      const digest = createHash("sha256").update(batchId).digest();
      const marker = digest.toString("hex");
      const partition = digest.readUInt32BE(0) % partitions;
      const result = await retry(`publish batch ${JSON.stringify(batchId)}`, async () => {
        const existing = await markers.get(marker);
        if (existing && existing.operation === "PUT") {
          return { added: false, entryId: new TextDecoder().decode(existing.value) };
        }
        const ack = await nats.js.publish(`${layout.subjectPrefix}.${partition}`, envelope, {
          msgID: batchId,
        });
        await markers.put(marker, new TextEncoder().encode(String(ack.seq)));
        return { added: !ack.duplicate, entryId: String(ack.seq) };
      });
      if (result.added) summary.added++;
      else summary.duplicates++;
      summary.lastEntryId = result.entryId;
      (o.onPublished as PublishNatsBatchesOptions["onPublished"])?.({
        batchId,
        ...result,
        index: position,
      });
    }
    return summary;
  } finally {
    await nats.close();
  }
}
