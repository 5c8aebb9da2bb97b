import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { publishRedisBatches, readRedisCommitted } from "../../src/redis/mod.ts";
import {
  jsonLine,
  ownRedis,
  REDIS_SERVER_INSTALLED,
  redisService,
  spawnScript,
} from "../_services.ts";
import { assertMatches, randomBatches } from "../distributed/_batches.ts";

const WORKER = fileURLToPath(new URL("./_worker_process.ts", import.meta.url));
// This test starts its own redis-server (with an appendonly file), so it needs the binary, not REDIS_URL.
const skip = REDIS_SERVER_INSTALLED ? false : redisService.skip || "redis-server is not installed";

describe("Redis restart", () => {
  test("a Redis restart between batches loses nothing and counts nothing twice", {
    skip,
    timeout: 90_000,
  }, async () => {
    const server = await ownRedis();
    try {
      await server.start();
      const redis = server.url;
      const stream = "restart";
      const batches = randomBatches({ count: 24, seed: 41 });
      const worker = spawnScript(WORKER, {
        redis,
        stream,
        group: "g",
        name: "w",
        blockMs: 100,
        untilIdleMs: 2500,
        retryForMs: 30_000,
      });
      await worker.waitFor(/^READY/);
      await publishRedisBatches(batches.slice(0, 12), { redis, stream });
      await worker.waitFor(/^COMMIT .*"committed":true/);
      for (let committed = 0; committed < 12;) {
        committed = (await readRedisCommitted({ redis, stream, group: "g" })).batches;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.start();
      await publishRedisBatches(batches.slice(12), { redis, stream, idPrefix: "second-" });
      const summary = await jsonLine<{ batches: number }>(worker, "SUMMARY", 60_000);
      await worker.exited;
      assert.equal(summary.batches, 24);
      const committed = await readRedisCommitted({ redis, stream, group: "g" });
      assert.equal(committed.batches, 24);
      assertMatches(committed.accumulator, batches);
    } finally {
      await server.dispose();
    }
  });

  test("a Redis killed mid-stream, with commits in flight, still ends exact", {
    skip,
    timeout: 90_000,
  }, async () => {
    const server = await ownRedis();
    try {
      await server.start();
      const redis = server.url;
      const stream = "midstream";
      const batches = randomBatches({ count: 60, seed: 42 });
      await publishRedisBatches(batches, { redis, stream });
      const worker = spawnScript(WORKER, {
        redis,
        stream,
        group: "g",
        name: "w",
        blockMs: 100,
        untilIdleMs: 1500,
        retryForMs: 30_000,
      });
      await worker.waitFor(/^COMMIT .*"committed":true/);
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.start();
      await jsonLine(worker, "SUMMARY", 60_000);
      await worker.exited;
      const committed = await readRedisCommitted({ redis, stream, group: "g" });
      assert.equal(committed.batches, 60);
      assertMatches(committed.accumulator, batches);
    } finally {
      await server.dispose();
    }
  });
});
