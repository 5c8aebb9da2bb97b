/**
 * Option pieces shared by the Redis roles.
 *
 * @module
 */

import { hostname } from "node:os";
import process from "node:process";
import { z } from "zod";
import type { RedisClientLike } from "./_client.ts";

/** `redis`: a URL or a client. */
export const connectionSchema = z.union([
  z.string(),
  z.custom<RedisClientLike>((value) =>
    typeof value === "object" && value !== null &&
    typeof (value as RedisClientLike).callBuffer === "function"
  ),
]);

/** An AbortSignal. */
export const signalSchema = z.custom<AbortSignal>((value) =>
  typeof value === "object" && value !== null &&
  typeof (value as AbortSignal).aborted === "boolean" &&
  typeof (value as AbortSignal).addEventListener === "function"
);

/** A callback. */
export const functionSchema = z.custom<(...args: never[]) => unknown>((value) =>
  typeof value === "function"
);

/** A non-negative integer of milliseconds. */
export const msSchema = z.number().int().nonnegative().max(2 ** 31 - 1);

/** Rule texts for messages. */
export const REDIS_RULES: Record<string, string> = {
  redis: 'a "redis://host:port" URL or an ioredis client',
  stream: "a stream name (printable ASCII, no spaces)",
  group: "a consumer group name (printable ASCII, no spaces)",
  name: "a worker name (A–Z a–z 0–9 . _ @ -)",
  batchesPerCommit: "an integer in [1, 1000]",
  readAhead: "a boolean",
  claimIdleMs: "a positive integer of milliseconds",
  blockMs: "a positive integer of milliseconds",
  untilIdleMs: "a non-negative integer of milliseconds",
  intervalMs: "a positive integer of milliseconds",
  retryForMs: "a non-negative integer of milliseconds",
  timeoutMs: "a non-negative integer of milliseconds",
  ttlMs: "a positive integer of milliseconds",
  maxElements: "a positive integer",
  maxDeliveries: "a positive integer",
  logLength: "a non-negative integer",
  trimEvery: "a non-negative integer (commits between trims, 0 for never)",
  window: "a positive integer",
  decay: "a number in (0, 1]",
  output: '"full" or "losses"',
  includeState: "a boolean",
  signal: "an AbortSignal",
  idPrefix: "a string",
  dtype: '"float64" or "float32"',
  inFlight: "an integer in [1, 64]",
  count: "a positive integer",
  prefix: "a key prefix (printable ASCII, no spaces)",
  loss: "BatchCorrelationLoss options",
  beforeCommit: "a function",
  onCommit: "a function",
  onRetry: "a function",
  onPublished: "a function",
};

/** A default worker name from the host name and the process id. */
export function defaultWorkerName(): string {
  return `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._@-]/g, "_").slice(0, 128);
}
