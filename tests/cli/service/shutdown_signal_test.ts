import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { listenForShutdown } from "../../../src/cli/service/shutdown_signal.ts";
import { untilAborted } from "../../../src/cli/service/until_aborted.ts";
import { waitFor } from "./_support.ts";

const CHILD = fileURLToPath(new URL("./_shutdown_child.ts", import.meta.url));

/** The runtime running the tests, for a child script. */
function runtimeCommand(script: string): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined) return [deno.execPath(), ["run", "-A", script]];
  return [process.execPath, [script]];
}

describe("shutdown signals", () => {
  for (const name of ["SIGTERM", "SIGINT"] as const) {
    test(`${name} stops the loop after the batch in hand, closes the service and exits 0`, {
      timeout: 60_000,
    }, async () => {
      const [command, args] = runtimeCommand(CHILD);
      const child = spawn(command, args, {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
      child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => resolve(code))
      );
      try {
        await waitFor(
          () => stdout.includes("listening "),
          `the child to listen (stderr: ${stderr})`,
          30_000,
        );
        const url = /listening (\S+)/.exec(stdout)![1]!;
        await waitFor(async () => {
          const text = await (await fetch(`${url}/metrics`)).text();
          return Number(/^batch_corr_batches_total (\d+)$/m.exec(text)?.[1]) >= 3;
        }, "a few batches");
        process.kill(child.pid!, name);
        assert.equal(await exited, 0, stderr);
        const match = new RegExp(`stopped by ${name} after (\\d+) batches; metrics say (\\d+)`)
          .exec(stdout);
        assert.ok(match, stdout + stderr);
        assert.equal(match[1], match[2], "every batch taken was recorded");
        await assert.rejects(fetch(`${url}/healthz`), "the service is closed");
      } finally {
        if (child.exitCode === null) process.kill(child.pid!, "SIGKILL");
      }
    });
  }

  test("a second signal calls onRepeat, and dispose() removes the handlers", () => {
    const repeats: string[] = [];
    const shutdown = listenForShutdown({
      signals: ["SIGTERM"],
      onRepeat: (name) => repeats.push(name),
    });
    const before = process.listenerCount("SIGTERM");
    process.emit("SIGTERM" as never);
    assert.equal(shutdown.signal.aborted, true);
    assert.equal(shutdown.signal.reason, "SIGTERM");
    assert.equal(shutdown.received, "SIGTERM");
    process.emit("SIGTERM" as never);
    assert.deepEqual(repeats, ["SIGTERM"]);
    shutdown.dispose();
    assert.equal(process.listenerCount("SIGTERM"), before - 1);
    assert.throws(() => listenForShutdown({ signals: ["SIGHUP" as "SIGINT"] }), RangeError);
  });

  test("untilAborted() cuts a blocked wait short and tells the source to finish", async () => {
    let returned = false;
    const blocked: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<number>>(() => {}),
        return: () => {
          returned = true;
          return Promise.resolve({ done: true, value: undefined });
        },
      }),
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const seen: number[] = [];
    for await (const value of untilAborted(blocked, controller.signal)) seen.push(value);
    assert.deepEqual(seen, []);
    assert.equal(returned, true);
    // A sync iterable works too, to its end.
    assert.deepEqual(await Array.fromAsync(untilAborted([1, 2, 3], new AbortController().signal)), [
      1,
      2,
      3,
    ]);
  });
});
