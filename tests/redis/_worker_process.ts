/**
 * A Redis worker process for the tests. Its JSON argument holds the worker's
 * options and fault hooks:
 * - `holdAt: k`: at the k-th commit (1-based), print `HOLDING <json>` and stop
 *   itself with SIGSTOP before committing (the test SIGKILLs it, or SIGCONTs it
 *   after its entries have been claimed);
 * - `stopAfter: k`: after the k-th successful commit, print `COMMITTED <json>`
 *   and stop itself (the test SIGKILLs it).
 * - `commitDelayMs: t`: block t ms before each commit, so that under load one worker that
 *   started first cannot drain a small stream before the others have joined.
 * It prints `COMMIT <json>` after every commit attempt and `SUMMARY <json>` at the end.
 */
import process from "node:process";
import { runRedisWorker } from "../../src/redis/mod.ts";
import { openRedis } from "../../src/redis/_client.ts";

const config = JSON.parse(process.argv[process.argv.length - 1]!);
const { holdAt, stopAfter, waitForEntries, commitDelayMs, ...options } = config;
const pause = new Int32Array(new SharedArrayBuffer(4));
let attempts = 0, commits = 0;
const print = (tag: string, value: unknown) =>
  process.stdout.write(`${tag} ${JSON.stringify(value)}\n`);
const ids = (step: { folded: { id: string }[]; deadLetters: { id: string }[] }) => ({
  folded: step.folded.map((d) => d.id),
  dead: step.deadLetters.map((d) => d.id),
});
const controller = new AbortController();
process.on("SIGTERM", () => controller.abort());
print("READY", { pid: process.pid });
if (waitForEntries === true) await untilStreamHasEntries(options.redis, options.stream);
try {
  const summary = await runRedisWorker({
    ...options,
    signal: controller.signal,
    beforeCommit: (step) => {
      if (typeof commitDelayMs === "number") Atomics.wait(pause, 0, 0, commitDelayMs);
      if (++attempts === holdAt) {
        print("HOLDING", ids(step));
        process.kill(process.pid, "SIGSTOP");
      }
    },
    onCommit: (step) => {
      print("COMMIT", { committed: step.committed, reason: step.reason ?? null, ...ids(step) });
      if (step.committed && ++commits === stopAfter) {
        print("COMMITTED", ids(step));
        process.kill(process.pid, "SIGSTOP");
      }
    },
  });
  print("SUMMARY", summary);
} catch (error) {
  print("ERROR", {
    message: (error as Error).message,
    code: (error as { code?: string }).code ?? null,
  });
  process.exitCode = 1;
}

/**
 * Waits until the stream holds an entry, so that the --until-idle countdown of
 * a test with several workers starts only once the batches are coming: under
 * load, process start-ups spread over seconds, and a worker that started first
 * would otherwise find an empty stream "idle" and exit before the publish.
 */
async function untilStreamHasEntries(redis: string, stream: string): Promise<void> {
  const opened = await openRedis(redis, "the test worker");
  try {
    while (Number(await opened.client.callBuffer("XLEN", stream)) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await opened.close();
  }
}
