import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { publishRedisBatches, readRedisCommitted, runRedisWorker } from "../../src/redis/mod.ts";
import { evalScript, openRedis } from "../../src/redis/_client.ts";
import { streamKeys } from "../../src/redis/_keys.ts";
import { PUBLISH } from "../../src/redis/_scripts.ts";
import { encodeBatchEnvelope } from "../../src/distributed/mod.ts";
import { jsonLine, redisService, spawnScript } from "../_services.ts";
import { assertMatches, randomBatches } from "../distributed/_batches.ts";

const PUBLISHER = fileURLToPath(new URL("./_publisher_process.ts", import.meta.url));
const skip = redisService.skip;

function uniqueStream(label: string): string {
  return `test-${label}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
}

async function streamLength(redis: string, stream: string): Promise<number> {
  const opened = await openRedis(redis, "test");
  const length = Number(await opened.client.callBuffer("XLEN", stream));
  await opened.close();
  return length;
}

describe("publishRedisBatches", () => {
  test("publishing the same batches again adds nothing and reports them as duplicates", {
    skip,
    timeout: 30_000,
  }, async () => {
    const redis = redisService.url();
    const stream = uniqueStream("dup");
    const batches = randomBatches({ count: 10, seed: 31 });
    const first = await publishRedisBatches(batches, { redis, stream });
    const again = await publishRedisBatches(batches, { redis, stream });
    assert.deepEqual([first.added, first.duplicates], [10, 0]);
    assert.deepEqual([again.added, again.duplicates], [0, 10]);
    assert.equal(await streamLength(redis, stream), 10);
  });

  test(
    "a publish whose reply was lost, sent again, adds the batch once and answers with the first entry",
    { skip, timeout: 30_000 },
    async () => {
      const redis = redisService.url();
      const stream = uniqueStream("lost-reply");
      const keys = streamKeys(stream);
      const envelope = encodeBatchEnvelope({ id: "b0", x: [[1], [2], [3]], n: [3, 1, 2] });
      const opened = await openRedis(redis, "test");
      // The same command twice, as a client retries after a timeout whose first attempt did land.
      const [a, b] = await Promise.all([
        evalScript(opened.client, PUBLISH, [keys.stream, keys.published], ["b0", envelope]),
        evalScript(opened.client, PUBLISH, [keys.stream, keys.published], ["b0", envelope]),
      ]) as unknown[][];
      await opened.close();
      assert.deepEqual([Number(a![0]), Number(b![0])], [1, 0]);
      assert.equal(String(a![1]), String(b![1]));
      assert.equal(await streamLength(redis, stream), 1);
    },
  );

  test("a publisher SIGKILLed mid-publish and rerun leaves every batch in the stream once", {
    skip,
    timeout: 60_000,
  }, async () => {
    const redis = redisService.url();
    const stream = uniqueStream("rerun");
    const plan = { count: 25, seed: 32 };
    const first = spawnScript(PUBLISHER, { redis, stream, plan, stopAfter: 11 });
    await first.waitFor(/"index":10/);
    first.process.kill("SIGKILL");
    await first.exited;
    const second = spawnScript(PUBLISHER, { redis, stream, plan });
    const summary = await jsonLine<{ added: number; duplicates: number }>(second, "SUMMARY");
    await second.exited;
    assert.equal(summary.added + summary.duplicates, 25);
    assert.ok(summary.duplicates >= 11);
    assert.equal(await streamLength(redis, stream), 25);
    await runRedisWorker({ redis, stream, group: "g", name: "w", untilIdleMs: 0, blockMs: 50 });
    const committed = await readRedisCommitted({ redis, stream, group: "g" });
    assertMatches(committed.accumulator, randomBatches(plan));
  });

  test(
    "two publishers racing on the same ids add each batch once",
    { skip, timeout: 30_000 },
    async () => {
      const redis = redisService.url();
      const stream = uniqueStream("race");
      const batches = randomBatches({ count: 12, seed: 33 });
      const [a, b] = await Promise.all([
        publishRedisBatches(batches, { redis, stream }),
        publishRedisBatches(batches, { redis, stream }),
      ]);
      assert.equal(a.added + b.added, 12);
      assert.equal(a.duplicates + b.duplicates, 12);
      assert.equal(await streamLength(redis, stream), 12);
    },
  );

  test(
    "rejects a malformed batch or option before sending anything",
    { timeout: 20_000 },
    async () => {
      await assert.rejects(
        publishRedisBatches(5 as never, { redis: "redis://127.0.0.1:1", stream: "s" }),
        /batches must be an iterable/,
      );
      await assert.rejects(
        publishRedisBatches([], { redis: "redis://127.0.0.1:1", stream: "has space" }),
        (error) => error instanceof TypeError && /options.stream/.test(error.message),
      );
      await assert.rejects(
        publishRedisBatches([], { redis: "redis://127.0.0.1:1", stream: "s", inFlight: 0 }),
        (error) => error instanceof RangeError && /inFlight/.test(error.message),
      );
    },
  );
});
