/**
 * A NATS worker process for the tests, with the same fault hooks as the Redis
 * one: `holdAt: k` prints `HOLDING` and stops itself before its k-th commit,
 * `stopAfter: k` prints `COMMITTED` and stops itself after its k-th success.
 */
import process from "node:process";
import { runNatsWorker } from "../../src/nats/mod.ts";

const config = JSON.parse(process.argv[process.argv.length - 1]!);
const { holdAt, stopAfter, ...options } = config;
let attempts = 0, commits = 0;
const print = (tag: string, value: unknown) =>
  process.stdout.write(`${tag} ${JSON.stringify(value)}\n`);
const ids = (
  step: { folded: { id: string }[]; skipped: { id: string }[]; deadLetters: { id: string }[] },
) => ({
  folded: step.folded.map((d) => d.id),
  skipped: step.skipped.map((d) => d.id),
  dead: step.deadLetters.map((d) => d.id),
});
const controller = new AbortController();
process.on("SIGTERM", () => controller.abort());
print("READY", { pid: process.pid });
try {
  const summary = await runNatsWorker({
    ...options,
    signal: controller.signal,
    beforeCommit: (step) => {
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
