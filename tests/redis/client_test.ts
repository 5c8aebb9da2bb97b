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
          error instanceof BatchCorrError && error.code === "peer_missing" &&
          /^Cannot connect to Redis as the optional package ioredis \(\^6\.0\.0\) must be installed: current value is not installed \(Cannot find module 'ioredis'\)/
            .test(error.message) &&
          /"deno add npm:ioredis@\^6\.0\.0" \(Deno\), "bun add ioredis@\^6\.0\.0" \(Bun\)/.test(
            error.message,
          ) &&
          error.details.package === "ioredis",
      );
    } finally {
      setIoredisImporter(undefined);
    }
  });

  test("an ioredis without a Redis class is refused with the same code, as installed but unusable", async () => {
    setIoredisImporter(() => Promise.resolve({ version: "6" }));
    try {
      await assert.rejects(
        runRedisWorker({ redis: "redis://127.0.0.1:6379", stream: "s", group: "g" }),
        (error) =>
          error instanceof BatchCorrError && error.code === "peer_missing" &&
          /installed but could not be loaded \(the module ioredis must export the Redis class/.test(
            error.message,
          ) && error.details.installed === true,
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
