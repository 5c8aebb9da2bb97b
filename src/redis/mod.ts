/**
 * Scale-out on Redis Streams: publish mini-batches to a stream, fold them in
 * a consumer group of workers that commit their snapshot and acknowledgements
 * atomically, and aggregate every committed snapshot into the global view,
 * exactly once. Also the all-reduce meeting point for data-parallel training.
 *
 * Needs the optional peer dependency `ioredis` (6.x): `deno add npm:ioredis@6`
 * or `bun add ioredis@6`. It is loaded only when one of these functions runs.
 * One Redis server (7.0 or later), not Redis Cluster.
 *
 * @example The three roles in one process
 * ```ts ignore
 * import { publishRedisBatches, runRedisAggregator, runRedisWorker } from "@streamcorr/batch-corr/redis";
 *
 * const redis = "redis://127.0.0.1:6379";
 * const batches = Array.from({ length: 10 }, (_, i) => ({
 *   x: Array.from({ length: 32 }, (_, b) => [Math.sin(i + b), Math.cos(b)]),
 *   n: Array.from({ length: 32 }, (_, b) => b % 7),
 * }));
 * await publishRedisBatches(batches, { redis, stream: "demo" });
 * await Promise.all([
 *   runRedisWorker({ redis, stream: "demo", group: "g", name: "w1", untilIdleMs: 1000 }),
 *   runRedisWorker({ redis, stream: "demo", group: "g", name: "w2", untilIdleMs: 1000 }),
 * ]);
 * for await (const record of runRedisAggregator({ redis, stream: "demo", group: "g", untilIdleMs: 0 })) {
 *   console.log(record.batches, record.count, record.running.loss);
 * }
 * ```
 *
 * @module
 */

export type { RedisClientLike, RedisConnection } from "./_client.ts";
export {
  type PublishableBatch,
  type PublishedBatch,
  publishRedisBatches,
  type PublishRedisBatchesOptions,
  type PublishSummary,
} from "./publish_redis_batches.ts";
export {
  type RedisWorkerSummary,
  runRedisWorker,
  type RunRedisWorkerOptions,
} from "./run_redis_worker.ts";
export { runRedisAggregator, type RunRedisAggregatorOptions } from "./run_redis_aggregator.ts";
export {
  readRedisCommitted,
  type ReadRedisCommittedOptions,
  type RedisCommittedState,
} from "./read_redis_committed.ts";
export {
  readRedisDeadLetters,
  type ReadRedisDeadLettersOptions,
  type RedisDeadLetter,
} from "./read_redis_dead_letters.ts";
export {
  trimRedisStream,
  type TrimRedisStreamOptions,
  type TrimResult,
} from "./trim_redis_stream.ts";
export {
  openRedisMomentExchange,
  type OpenRedisMomentExchangeOptions,
  type RedisMomentExchange,
} from "./open_redis_moment_exchange.ts";
export type { AggregateRecord } from "../distributed/aggregate_view.ts";
