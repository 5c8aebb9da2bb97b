/**
 * A one-shot read of a Redis consumer group's committed correlation state.
 *
 * @module
 */

import { z } from "zod";
import type { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import { parseOptions } from "../core/parse_options.ts";
import { type CommittedPart, mergeCommitted } from "../distributed/aggregate_view.ts";
import { withRetry } from "../distributed/with_retry.ts";
import { openRedis, type RedisConnection } from "./_client.ts";
import { readCut } from "./_committed.ts";
import { checkKeyName, streamKeys } from "./_keys.ts";
import { connectionSchema, msSchema, REDIS_RULES } from "./_options.ts";

/** Options of {@linkcode readRedisCommitted}. */
export interface ReadRedisCommittedOptions {
  /** A `redis://host:port` URL or an ioredis client. */
  redis: RedisConnection;
  /** The stream. */
  stream: string;
  /** The workers' consumer group. */
  group: string;
  /** The largest F·M a snapshot may declare. @default {134217728} */
  maxElements?: number;
  /** How long to keep retrying while Redis does not answer. @default {60000} */
  retryForMs?: number;
}

/** The committed state of a group. */
export interface RedisCommittedState {
  /** Every worker's snapshot merged in name order. */
  accumulator: CorrelationAccumulator;
  /** Batches inside it. */
  batches: number;
  /** Messages dead-lettered. */
  deadLetters: number;
  /** Each worker's committed part, in name order. */
  workers: CommittedPart[];
}

const schema = z.strictObject({
  redis: connectionSchema,
  stream: z.string(),
  group: z.string(),
  maxElements: z.number().int().positive().default(2 ** 27),
  retryForMs: msSchema.default(60_000),
});

/**
 * Reads every worker's committed snapshot at one instant and merges them in
 * name order: the group's global running state.
 *
 * @param options The server, stream and group.
 * @returns The merged accumulator, the batch count and each worker's part.
 * @throws {TypeError} For a malformed option.
 * @throws {BatchCorrError} "peer_missing", "engine_unavailable", or "invalid_snapshot".
 *
 * @example Comparing with a single-process run
 * ```ts ignore
 * import { readRedisCommitted } from "@streamcorr/batch-corr/redis";
 *
 * const { accumulator, batches } = await readRedisCommitted({ redis: "redis://127.0.0.1:6379", stream: "demo", group: "g" });
 * console.log(batches, accumulator.count, accumulator.correlations().data);
 * ```
 */
export async function readRedisCommitted(
  options: ReadRedisCommittedOptions,
): Promise<RedisCommittedState> {
  const context = "read the committed state from Redis";
  const o = parseOptions(schema, options, context, REDIS_RULES);
  const keys = streamKeys(
    checkKeyName(o.stream, "options.stream", context),
    checkKeyName(o.group, "options.group", context),
  );
  const opened = await openRedis(o.redis as RedisConnection, context);
  try {
    const cut = await withRetry(() => readCut(opened.client, keys), {
      retryForMs: o.retryForMs,
      what: "read the committed state",
      server: opened.server,
    });
    return {
      accumulator: mergeCommitted(cut.parts, o.maxElements),
      batches: cut.parts.reduce((total, part) => total + part.batches, 0),
      deadLetters: cut.deadLetters,
      workers: cut.parts,
    };
  } finally {
    await opened.close();
  }
}
