/**
 * A worker process for `bench/redis_throughput.ts`: connects, prints READY,
 * waits for a line on stdin, then runs `runRedisWorker` until the stream is
 * drained and prints its summary.
 *
 * @module
 */

import process from "node:process";
import { runRedisWorker } from "../src/redis/mod.ts";

const options = JSON.parse(process.argv[process.argv.length - 1]!);
process.stdout.write("READY\n");
// An orphan (the benchmark was stopped before the start signal) exits instead of waiting forever.
process.stdin.once("end", () => process.exit(1));
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
process.stdin.pause();
const summary = await runRedisWorker({ ...options, untilIdleMs: 300, blockMs: 50 });
process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`);
process.exit(0);
