/**
 * A worker process for `bench/redis_throughput.ts`: loads ioredis, connects
 * and answers a PING before it prints READY (so that start-up is not timed),
 * waits for a line on stdin, then runs `runRedisWorker` on that connection
 * until the stream is drained and prints its summary.
 *
 * @module
 */

import process from "node:process";
import { runRedisWorker } from "../src/redis/mod.ts";
import { openRedis } from "../src/redis/_client.ts";

const { redis, ...options } = JSON.parse(process.argv[process.argv.length - 1]!);
const opened = await openRedis(redis, "bench worker");
await opened.client.callBuffer("PING");
process.stdout.write("READY\n");
// An orphan (the benchmark was stopped before the start signal) exits instead of waiting forever.
process.stdin.once("end", () => process.exit(1));
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
process.stdin.pause();
const summary = await runRedisWorker({
  redis: opened.client,
  ...options,
  untilIdleMs: 300,
  blockMs: 50,
});
await opened.close();
process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`);
process.exit(0);
