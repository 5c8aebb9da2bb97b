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
await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
process.stdin.pause();
const summary = await runRedisWorker({ ...options, untilIdleMs: 300, blockMs: 50 });
process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`);
process.exit(0);
