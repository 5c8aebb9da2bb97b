/**
 * The dead letters of a Redis consumer group: messages that could not be
 * folded in, with their entry id, batch id and reason.
 *
 * @module
 */

import { z } from "zod";
import { parseOptions } from "../core/parse_options.ts";
import { bytes, openRedis, type RedisConnection, text } from "./_client.ts";
import { checkKeyName, streamKeys } from "./_keys.ts";
import { connectionSchema, REDIS_RULES } from "./_options.ts";

/** Options of {@linkcode readRedisDeadLetters}. */
export interface ReadRedisDeadLettersOptions {
  /** A `redis://host:port` URL or an ioredis client. */
  redis: RedisConnection;
  /** The stream. */
  stream: string;
  /** The workers' consumer group. */
  group: string;
  /** The most dead letters to return, oldest first. @default {1000} */
  count?: number;
}

/** One dead letter. */
export interface RedisDeadLetter {
  /** The dead letter's own id in the dead-letter stream. */
  deadLetterId: string;
  /** The entry id of the refused message in the batch stream. */
  entryId: string;
  /** The batch id, when it could be read ("" otherwise). */
  batchId: string;
  /** Why it was refused. */
  reason: string;
  /** The worker that refused it. */
  worker: string;
  /** The message's bytes as received. */
  payload: Uint8Array;
}

const schema = z.strictObject({
  redis: connectionSchema,
  stream: z.string(),
  group: z.string(),
  count: z.number().int().positive().default(1000),
});

/**
 * Lists a group's dead letters, oldest first.
 *
 * @param options The server, stream, group and how many.
 * @returns The dead letters.
 * @throws {TypeError} For a malformed option.
 * @throws {BatchCorrError} "peer_missing" when ioredis is not installed.
 *
 * @example Listing why batches were refused
 * ```ts ignore
 * import { readRedisDeadLetters } from "@streamcorr/batch-corr/redis";
 *
 * for (const dead of await readRedisDeadLetters({ redis: "redis://127.0.0.1:6379", stream: "demo", group: "g" })) {
 *   console.log(dead.entryId, dead.batchId, dead.reason);
 * }
 * ```
 */
export async function readRedisDeadLetters(
  options: ReadRedisDeadLettersOptions,
): Promise<RedisDeadLetter[]> {
  const context = "read dead letters from Redis";
  const o = parseOptions(schema, options, context, REDIS_RULES);
  const keys = streamKeys(
    checkKeyName(o.stream, "options.stream", context),
    checkKeyName(o.group, "options.group", context),
  );
  const opened = await openRedis(o.redis as RedisConnection, context);
  try {
    const reply = await opened.client.callBuffer(
      "XRANGE",
      keys.dead,
      "-",
      "+",
      "COUNT",
      o.count,
    ) as unknown[][];
    return reply.map((entry) => {
      const record: RedisDeadLetter = {
        deadLetterId: text(entry[0]),
        entryId: "",
        batchId: "",
        reason: "",
        worker: "",
        payload: new Uint8Array(0),
      };
      const fields = (entry[1] as unknown[] | null) ?? [];
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const name = text(fields[i]);
        if (name === "entry") record.entryId = text(fields[i + 1]);
        else if (name === "batch") record.batchId = text(fields[i + 1]);
        else if (name === "reason") record.reason = text(fields[i + 1]);
        else if (name === "worker") record.worker = text(fields[i + 1]);
        else if (name === "payload") record.payload = bytes(fields[i + 1]);
      }
      return record;
    });
  } finally {
    await opened.close();
  }
}
