/**
 * The Redis Streams worker: joins a consumer group, folds each batch into its
 * accumulator and commits its snapshot together with the acknowledgement of
 * the batches in one Lua script.
 *
 * @module
 */

import { z } from "zod";
import { parseOptions } from "../core/parse_options.ts";
import type { FoldStep } from "../distributed/checkpointed_fold.ts";
import {
  runCheckpointedWorker,
  type WorkerSummary,
} from "../distributed/run_checkpointed_worker.ts";
import { withRetry } from "../distributed/with_retry.ts";
import { evalScript, openRedis, type RedisConnection } from "./_client.ts";
import { checkKeyName, checkWorkerName, streamKeys } from "./_keys.ts";
import {
  connectionSchema,
  defaultWorkerName,
  functionSchema,
  msSchema,
  REDIS_RULES,
  signalSchema,
} from "./_options.ts";
import { RedisBatchSource } from "./_redis_source.ts";
import { RedisCheckpointStore } from "./_redis_store.ts";
import { TRIM } from "./_scripts.ts";

/** Options of {@linkcode runRedisWorker}. */
export interface RunRedisWorkerOptions {
  /** A `redis://host:port` URL (a connection is opened and closed) or an ioredis client (used as is). */
  redis: RedisConnection;
  /** The stream the batches were published to. */
  stream: string;
  /** The consumer group the workers share (created on first use, reading from the stream's start). */
  group: string;
  /**
   * This worker's name, stable across restarts: a restarted worker reloads the
   * snapshot committed under its name and re-reads the entries still pending for it.
   * @default {`${hostname}-${pid}`}
   */
  name?: string;
  /**
   * The most batches folded into one commit.
   * @default {1}
   */
  batchesPerCommit?: number;
  /**
   * Read the next entries (without blocking) while the current ones are folded
   * and committed, so that Redis sends the next batch meanwhile. Entries read
   * ahead are this worker's: on a stop they are committed too; after a crash
   * they are claimed (or re-read under the same name) like the others.
   * @default {false}
   */
  readAhead?: boolean;
  /**
   * Entries idle this long at another worker (crashed, stalled) are claimed.
   * Keep it well above the time one commit takes: a worker slower than this
   * loses its entries and has its commit refused.
   * @default {30000}
   */
  claimIdleMs?: number;
  /**
   * How long one read waits for new entries; also how quickly `signal` is noticed.
   * @default {1000}
   */
  blockMs?: number;
  /**
   * Stop once every entry of the stream is acknowledged by the group and
   * nothing new has arrived for this many milliseconds.
   * @default {undefined} (run until `signal` aborts)
   */
  untilIdleMs?: number;
  /** Stops the worker: the batch in hand is committed, then the call returns. */
  signal?: AbortSignal;
  /**
   * How long to keep retrying while Redis does not answer.
   * @default {60000}
   */
  retryForMs?: number;
  /** The largest F·M allowed. @default {134217728} */
  maxElements?: number;
  /**
   * An entry delivered more often than this without a commit is dead-lettered.
   * @default {10}
   */
  maxDeliveries?: number;
  /**
   * Keep about this many per-batch moments in the group's log, for the
   * aggregator's interval and window views (each entry is about the size of a
   * snapshot, 8·(F·M + 3F + 3M) bytes); 0 keeps none.
   * @default {1000}
   */
  logLength?: number;
  /**
   * Trim the stream (`XTRIM MINID`, never below an entry still pending or
   * unread by any group) every this many commits; 0 never trims.
   * @default {100}
   */
  trimEvery?: number;
  /** Awaited after folding, before the atomic commit. */
  beforeCommit?: (step: FoldStep) => void | Promise<void>;
  /** Called after every commit attempt. */
  onCommit?: (step: FoldStep) => void | Promise<void>;
  /** Called when a Redis call fails and is retried. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** What a Redis worker did. */
export interface RedisWorkerSummary extends WorkerSummary {
  /** The worker's name. */
  name: string;
  /** Entries it claimed from other workers. */
  claimed: number;
}

const schema = z.strictObject({
  redis: connectionSchema,
  stream: z.string(),
  group: z.string(),
  name: z.string().optional(),
  batchesPerCommit: z.number().int().min(1).max(1000).default(1),
  readAhead: z.boolean().default(false),
  claimIdleMs: msSchema.min(1).default(30_000),
  blockMs: msSchema.min(1).default(1000),
  untilIdleMs: msSchema.optional(),
  signal: signalSchema.optional(),
  retryForMs: msSchema.default(60_000),
  maxElements: z.number().int().positive().optional(),
  maxDeliveries: z.number().int().positive().optional(),
  logLength: z.number().int().nonnegative().default(1000),
  trimEvery: z.number().int().nonnegative().default(100),
  beforeCommit: functionSchema.optional(),
  onCommit: functionSchema.optional(),
  onRetry: functionSchema.optional(),
});

/**
 * Runs a worker of a Redis Streams consumer group until it is idle or stopped.
 *
 * Each commit is one Lua script that checks the worker's epoch and that every
 * entry it folded is still pending for it, then stores the snapshot, appends
 * dead letters and per-batch moments and `XACK`s the entries. A worker that
 * stalled past `claimIdleMs` loses its entries to `XAUTOCLAIM` and its late
 * commit is refused; it then reloads its committed snapshot and re-reads what
 * is still pending for it. A poisoned entry (an unreadable envelope, NaN, a
 * shape other than the group's) is dead-lettered with its id and reason in
 * the same commit and never blocks the group.
 *
 * @param options The server, stream, group, name and loop settings.
 * @returns What the worker did.
 * @throws {TypeError} For a malformed option.
 * @throws {RangeError} For an out-of-range option.
 * @throws {BatchCorrError} "peer_missing" when ioredis is not installed;
 * "engine_unavailable" when Redis is unreachable for longer than `retryForMs`;
 * "commit_refused" when another process has started under the same name.
 *
 * @example Two batches, one worker, until idle
 * ```ts ignore
 * import { publishRedisBatches, readRedisCommitted, runRedisWorker } from "@streamcorr/batch-corr/redis";
 *
 * const redis = "redis://127.0.0.1:6379";
 * await publishRedisBatches([{ x: [[1], [2], [4]], n: [1, 3, 2] }, { x: [[3], [5]], n: [5, 4] }], { redis, stream: "demo" });
 * const summary = await runRedisWorker({ redis, stream: "demo", group: "g", name: "w1", untilIdleMs: 500 });
 * console.log(summary.batches, (await readRedisCommitted({ redis, stream: "demo", group: "g" })).accumulator.count);
 * ```
 */
export async function runRedisWorker(options: RunRedisWorkerOptions): Promise<RedisWorkerSummary> {
  const context = "run the Redis worker";
  const o = parseOptions(schema, options, context, REDIS_RULES);
  const stream = checkKeyName(o.stream, "options.stream", context);
  const group = checkKeyName(o.group, "options.group", context);
  const name = checkWorkerName(o.name ?? defaultWorkerName(), "options.name", context);
  const keys = streamKeys(stream, group);
  const opened = await openRedis(o.redis as RedisConnection, context);
  try {
    const client = opened.client;
    const source = new RedisBatchSource({
      client,
      keys,
      group,
      worker: name,
      claimIdleMs: o.claimIdleMs,
      blockMs: o.blockMs,
    });
    const store = new RedisCheckpointStore({
      client,
      keys,
      group,
      worker: name,
      logLength: o.logLength,
    });
    await withRetry(() => store.join(), {
      retryForMs: o.retryForMs,
      what: `join group ${group} of stream ${stream}`,
      server: opened.server,
    });
    let commits = 0;
    const onCommit = async (step: FoldStep) => {
      if (step.committed && o.trimEvery > 0 && ++commits % o.trimEvery === 0) {
        await evalScript(client, TRIM, [stream], []).catch(() => {});
      }
      await (o.onCommit as RunRedisWorkerOptions["onCommit"])?.(step);
    };
    const summary = await runCheckpointedWorker({
      source,
      store,
      batchesPerCommit: o.batchesPerCommit,
      readAhead: o.readAhead,
      retryForMs: o.retryForMs,
      server: opened.server,
      deltas: o.logLength > 0,
      onCommit,
      ...(o.untilIdleMs === undefined ? {} : { untilIdleMs: o.untilIdleMs }),
      ...(o.signal ? { signal: o.signal as AbortSignal } : {}),
      ...(o.maxElements === undefined ? {} : { maxElements: o.maxElements }),
      ...(o.maxDeliveries === undefined ? {} : { maxDeliveries: o.maxDeliveries }),
      ...(o.beforeCommit
        ? { beforeCommit: o.beforeCommit as RunRedisWorkerOptions["beforeCommit"] & object }
        : {}),
      ...(o.onRetry ? { onRetry: o.onRetry as RunRedisWorkerOptions["onRetry"] & object } : {}),
    });
    return { ...summary, name, claimed: source.claimed };
  } finally {
    await opened.close();
  }
}
