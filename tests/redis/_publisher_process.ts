/**
 * A Redis publisher process for the tests: publishes the seeded batches of
 * tests/distributed/_batches.ts and prints `PUBLISHED <json>` per batch
 * answered and `SUMMARY <json>` at the end; `stopAfter: k` makes it stop
 * itself after k answers (the test SIGKILLs it mid-publish).
 */
import process from "node:process";
import { publishRedisBatches } from "../../src/redis/mod.ts";
import { randomBatches } from "../distributed/_batches.ts";

const { plan, stopAfter, ...options } = JSON.parse(process.argv[process.argv.length - 1]!);
let answered = 0;
const summary = await publishRedisBatches(randomBatches(plan), {
  ...options,
  inFlight: 1,
  onPublished: (event) => {
    process.stdout.write(`PUBLISHED ${JSON.stringify(event)}\n`);
    if (++answered === stopAfter) process.kill(process.pid, "SIGSTOP");
  },
});
process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`);
