/**
 * The all-reduce meeting point on Redis: one hash per training step, one
 * field per rank.
 *
 * @module
 */

import { z } from "zod";
import { parseOptions } from "../core/parse_options.ts";
import type { MomentExchange } from "../distributed/all_reduce_moments.ts";
import { bytes, evalScript, luaScript, openRedis, type RedisConnection, text } from "./_client.ts";
import { checkKeyName } from "./_keys.ts";
import { connectionSchema, REDIS_RULES } from "./_options.ts";

/** Options of {@linkcode openRedisMomentExchange}. */
export interface OpenRedisMomentExchangeOptions {
  /** A `redis://host:port` URL or an ioredis client. */
  redis: RedisConnection;
  /** The key prefix of this training run: each step's hash is `${prefix}:step:${step}`. */
  prefix: string;
  /**
   * How long a step's hash is kept after its last write.
   * @default {600000} (10 minutes)
   */
  ttlMs?: number;
}

/** A {@linkcode MomentExchange} on Redis, to be closed after training. */
export interface RedisMomentExchange extends MomentExchange {
  /** Closes the connection (if it was opened from a URL). */
  close(): Promise<void>;
}

const PUBLISH_RANK = luaScript(`
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('HGET', KEYS[1], ARGV[1])
`);

const schema = z.strictObject({
  redis: connectionSchema,
  prefix: z.string(),
  ttlMs: z.number().int().positive().default(600_000),
});

/**
 * Opens a moment exchange for `allReduceMoments` on Redis. A rank's
 * contribution is written with `HSETNX`, so a retried publish is harmless
 * and a different second one is detected.
 *
 * @param options The server, the run's key prefix and the time to keep each step.
 * @returns The exchange.
 * @throws {TypeError} For a malformed option.
 * @throws {BatchCorrError} "peer_missing" when ioredis is not installed.
 *
 * @example One training step on rank 0 of 4
 * ```ts ignore
 * import { BatchCorrelationLoss } from "@streamcorr/batch-corr";
 * import { allReduceMoments, globalValueAndGrad } from "@streamcorr/batch-corr/distributed";
 * import { openRedisMomentExchange } from "@streamcorr/batch-corr/redis";
 *
 * const exchange = await openRedisMomentExchange({ redis: "redis://127.0.0.1:6379", prefix: "run-42" });
 * const slice = { x: [[0.1, 0.2], [0.4, 0.1], [0.3, 0.9]], n: [1, 2, 4] };
 * const global = await allReduceMoments(exchange, slice, { rank: 0, worldSize: 4, step: 0 });
 * const { value, grad } = globalValueAndGrad(new BatchCorrelationLoss(), slice.x, slice.n, global);
 * await exchange.close();
 * ```
 */
export async function openRedisMomentExchange(
  options: OpenRedisMomentExchangeOptions,
): Promise<RedisMomentExchange> {
  const context = "open the Redis moment exchange";
  const o = parseOptions(schema, options, context, REDIS_RULES);
  const prefix = checkKeyName(o.prefix, "options.prefix", context);
  const opened = await openRedis(o.redis as RedisConnection, context);
  const key = (step: number) => `${prefix}:step:${step}`;
  return {
    async publish(step: number, rank: number, payload: Uint8Array): Promise<Uint8Array> {
      return bytes(
        await evalScript(opened.client, PUBLISH_RANK, [key(step)], [
          String(rank),
          payload,
          o.ttlMs,
        ]),
      );
    },
    async read(step: number): Promise<Map<number, Uint8Array>> {
      const reply = await opened.client.callBuffer("HGETALL", key(step)) as unknown[];
      const found = new Map<number, Uint8Array>();
      for (let i = 0; i + 1 < reply.length; i += 2) {
        found.set(Number(text(reply[i])), bytes(reply[i + 1]));
      }
      return found;
    },
    close: () => opened.close(),
  };
}
