import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrError } from "../../mod.ts";
import { runRedisWorker } from "../../src/redis/mod.ts";
import { checkRedisUrl, setIoredisImporter } from "../../src/redis/_client.ts";

describe("the Redis client", () => {
  test("a missing ioredis fails with an error naming the package and how to install it", async () => {
    setIoredisImporter(() => Promise.reject(new Error("Cannot find module 'ioredis'")));
    try {
      await assert.rejects(
        runRedisWorker({ redis: "redis://127.0.0.1:6379", stream: "s", group: "g" }),
        (error) =>
          error instanceof BatchCorrError && (error.code as string) === "peer_missing" &&
          /"ioredis"/.test(error.message) && /deno add npm:ioredis/.test(error.message) &&
          /bun add ioredis/.test(error.message),
      );
    } finally {
      setIoredisImporter(undefined);
    }
  });

  test("accepts redis:// and rediss:// URLs only", () => {
    assert.equal(checkRedisUrl("redis://127.0.0.1:6379", "test"), "redis://127.0.0.1:6379");
    assert.equal(
      checkRedisUrl("rediss://user:pw@example.invalid:6380", "test"),
      "rediss://user:pw@example.invalid:6380",
    );
    for (const bad of ["http://127.0.0.1:6379", "127.0.0.1:6379", "", 6379, null]) {
      assert.throws(
        () => checkRedisUrl(bad, "test"),
        (error) => error instanceof TypeError && /options.redis/.test(error.message),
      );
    }
  });
});
