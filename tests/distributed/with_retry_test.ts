import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { withRetry } from "../../src/distributed/with_retry.ts";

describe("withRetry", () => {
  test("gives up with engine_unavailable quoting the last failure, even one String() cannot convert", async () => {
    const thrown = Object.create(null);
    await assert.rejects(
      withRetry(() => Promise.reject(thrown), { retryForMs: 0, what: "read", server: "the store" }),
      (e) =>
        e instanceof Error && (e as { code?: string }).code === "engine_unavailable" &&
        e.cause === thrown && /the last with "an object"$/.test(e.message),
    );
  });
});

describe("withRetry's backoff", () => {
  test("retries a failing operation until it succeeds, reporting each failure with its attempt", async () => {
    let calls = 0;
    const seen: [string, number][] = [];
    const value = await withRetry(
      () => (++calls < 4 ? Promise.reject(new Error(`down ${calls}`)) : Promise.resolve("up")),
      {
        retryForMs: 10_000,
        what: "read",
        server: "redis://127.0.0.1:1",
        onRetry: (error, attempt) => seen.push([(error as Error).message, attempt]),
      },
    );
    assert.equal(value, "up");
    assert.equal(calls, 4);
    assert.deepEqual(seen, [["down 1", 1], ["down 2", 2], ["down 3", 3]]);
  });

  test("gives up once it has failed for retryForMs, naming the operation, the server and the attempts", async () => {
    const started = Date.now();
    await assert.rejects(
      withRetry(() => Promise.reject(new Error("connection refused")), {
        retryForMs: 120,
        what: "read the stream orders",
        server: "redis://127.0.0.1:1",
      }),
      (e) => {
        const error = e as Error & { code?: string; details?: { attempts: number } };
        assert.equal(error.code, "engine_unavailable");
        assert.match(
          error.message,
          /^Cannot read the stream orders as redis:\/\/127\.0\.0\.1:1 must answer within 120 ms of retrying: current state is \d+ failed attempts over \d+ ms, the last with "connection refused"$/,
        );
        // 20, 40, 80 ms of backoff: at least three attempts fit before 120 ms have passed.
        assert.ok(error.details!.attempts >= 3, `${error.details!.attempts} attempts`);
        return true;
      },
    );
    assert.ok(Date.now() - started >= 120);
  });

  test("an aborted signal ends the backoff at once and gives up on the next failure", async () => {
    const controller = new AbortController();
    let calls = 0;
    const started = Date.now();
    const pending = withRetry(() => {
      calls++;
      if (calls === 2) controller.abort();
      return Promise.reject(new Error("down"));
    }, {
      retryForMs: 60_000,
      what: "read",
      server: "nats://127.0.0.1:1",
      signal: controller.signal,
    });
    await assert.rejects(pending, (e) => (e as { code?: string }).code === "engine_unavailable");
    assert.equal(calls, 2);
    assert.ok(Date.now() - started < 5_000, "not the 60 s of retryForMs");
  });
});
