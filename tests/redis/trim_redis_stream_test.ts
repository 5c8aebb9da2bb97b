import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { publishRedisBatches, trimRedisStream } from "../../src/redis/mod.ts";
import { openRedis } from "../../src/redis/_client.ts";
import { redisService } from "../_services.ts";
import { randomBatches } from "../distributed/_batches.ts";

const skip = redisService.skip;

async function ids(
  client: { callBuffer: (...args: never[]) => Promise<unknown> },
  stream: string,
): Promise<string[]> {
  const reply = await (client.callBuffer as (...args: unknown[]) => Promise<unknown[][]>)(
    "XRANGE",
    stream,
    "-",
    "+",
  );
  return reply.map((entry) => String(entry[0]));
}

describe("trimRedisStream", () => {
  test("never drops an entry still pending at a worker, nor one a group has not read", {
    skip,
    timeout: 30_000,
  }, async () => {
    const redis = redisService.url();
    const stream = `test-trim-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
    await publishRedisBatches(randomBatches({ count: 10, seed: 51 }), { redis, stream });
    const { client, close } = await openRedis(redis, "test");
    try {
      const all = await ids(client, stream);
      await client.callBuffer("XGROUP", "CREATE", stream, "fast", "0");
      await client.callBuffer("XGROUP", "CREATE", stream, "slow", "0");
      // fast: reads 8, acknowledges all but the 3rd (still pending at worker a).
      await client.callBuffer(
        "XREADGROUP",
        "GROUP",
        "fast",
        "a",
        "COUNT",
        8,
        "STREAMS",
        stream,
        ">",
      );
      await client.callBuffer("XACK", stream, "fast", ...all.slice(0, 8).filter((_, i) => i !== 2));
      // slow: reads and acknowledges 5.
      await client.callBuffer(
        "XREADGROUP",
        "GROUP",
        "slow",
        "b",
        "COUNT",
        5,
        "STREAMS",
        stream,
        ">",
      );
      await client.callBuffer("XACK", stream, "slow", ...all.slice(0, 5));
      const first = await trimRedisStream({ redis, stream });
      assert.equal(first.minId, all[2], "the oldest entry still needed: pending at fast");
      assert.deepEqual(await ids(client, stream), all.slice(2));
      // fast acknowledges its pending entry: now slow's last delivered entry bounds the trim.
      await client.callBuffer("XACK", stream, "fast", all[2]!);
      const second = await trimRedisStream({ redis, stream });
      assert.equal(second.minId, all[4]);
      assert.deepEqual(await ids(client, stream), all.slice(4));
    } finally {
      await close();
    }
  });

  test("leaves a stream without consumer groups alone", { skip, timeout: 30_000 }, async () => {
    const redis = redisService.url();
    const stream = `test-trim-none-${Date.now()}`;
    await publishRedisBatches(randomBatches({ count: 3, seed: 52 }), { redis, stream });
    assert.deepEqual(await trimRedisStream({ redis, stream }), { removed: 0, minId: "" });
  });
});
