/**
 * Trimming a batch stream without losing a batch: `XTRIM MINID` below the
 * oldest entry that any consumer group still needs.
 *
 * @module
 */

import { z } from "zod";
import { parseOptions } from "../core/parse_options.ts";
import { evalScript, int, openRedis, type RedisConnection, text } from "./_client.ts";
import { checkKeyName } from "./_keys.ts";
import { connectionSchema, REDIS_RULES } from "./_options.ts";
import { TRIM } from "./_scripts.ts";

/** Options of {@linkcode trimRedisStream}. */
export interface TrimRedisStreamOptions {
  /** A `redis://host:port` URL or an ioredis client. */
  redis: RedisConnection;
  /** The stream. */
  stream: string;
}

/** What {@linkcode trimRedisStream} removed. */
export interface TrimResult {
  /** Entries removed. */
  removed: number;
  /** The `MINID` used ("" when nothing could be trimmed: no stream or no group). */
  minId: string;
}

const schema = z.strictObject({ redis: connectionSchema, stream: z.string() });

/**
 * Trims entries that every consumer group has acknowledged. In one Lua
 * script it takes, over every group of the stream, the oldest entry still
 * pending and the last entry delivered, and trims below the smallest of them
 * (`XTRIM MINID`): no entry still pending at a worker, and no entry a group
 * has not read yet, is ever dropped. A stream without groups is left alone.
 *
 * @param options The server and the stream.
 * @returns How many entries were removed and the MINID used.
 * @throws {TypeError} For a malformed option.
 * @throws {BatchCorrError} "peer_missing" when ioredis is not installed.
 *
 * @example Trimming after a batch job
 * ```ts ignore
 * import { trimRedisStream } from "@streamcorr/batch-corr/redis";
 *
 * const { removed } = await trimRedisStream({ redis: "redis://127.0.0.1:6379", stream: "demo" });
 * console.log(`${removed} acknowledged entries removed`);
 * ```
 */
export async function trimRedisStream(options: TrimRedisStreamOptions): Promise<TrimResult> {
  const context = "trim the Redis stream";
  const o = parseOptions(schema, options, context, REDIS_RULES);
  const stream = checkKeyName(o.stream, "options.stream", context);
  const opened = await openRedis(o.redis as RedisConnection, context);
  try {
    const reply = await evalScript(opened.client, TRIM, [stream], []) as unknown[];
    return { removed: int(reply[0]), minId: text(reply[1]) };
  } finally {
    await opened.close();
  }
}
