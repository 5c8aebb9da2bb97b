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
