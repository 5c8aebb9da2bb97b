import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { batchCorr } from "../../mod.ts";
import { publishRedisBatches, runRedisAggregator, runRedisWorker } from "../../src/redis/mod.ts";
import { jsonLine, redisService, spawnScript } from "../_services.ts";
import { randomBatches } from "../distributed/_batches.ts";
import { concat, maxAbsDiff } from "../fuzz_support.ts";
import { decayedCorrelations } from "../_weighted_reference.ts";

const AGGREGATOR = fileURLToPath(new URL("./_aggregator_process.ts", import.meta.url));
const WORKER = fileURLToPath(new URL("./_worker_process.ts", import.meta.url));
const skip = redisService.skip;

function uniqueStream(label: string): string {
  return `test-${label}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
}

describe("runRedisAggregator", () => {
  test(
    "an aggregator SIGKILLed mid-stream and restarted ends on the exact count and r of the concatenation",
    { skip, timeout: 60_000 },
    async () => {
      const redis = redisService.url();
      const stream = uniqueStream("aggregator");
      const batches = randomBatches({ count: 40, seed: 21 });
      const config = { redis, stream, group: "g", intervalMs: 50, untilIdleMs: 1500 };
      const first = spawnScript(AGGREGATOR, config);
      const worker = spawnScript(WORKER, {
        redis,
        stream,
        group: "g",
        name: "w",
        blockMs: 100,
        untilIdleMs: 1500,
        holdAt: 20,
      });
      await worker.waitFor(/^READY/);
      await publishRedisBatches(batches, { redis, stream });
      // The worker pauses at its 20th commit; the aggregator has seen part of the stream by then.
      await jsonLine(worker, "HOLDING");
      await first.waitFor(/^RECORD .*"batches":(1\d)\b/);
      first.process.kill("SIGKILL");
      await first.exited;
      worker.process.kill("SIGCONT");
      const second = spawnScript(AGGREGATOR, config);
      const done = await jsonLine<{ count: number; batches: number; r: number[] }>(
        second,
        "DONE",
        30_000,
      );
      await Promise.all([second.exited, worker.exited]);
      const whole = concat(batches);
      assert.equal(done.batches, 40);
      assert.equal(done.count, whole.x.shape[0]);
      assert.ok(maxAbsDiff(done.r, batchCorr(whole.x, whole.n, { abs: false }).data) <= 1e-12);
      const records = second.lines.filter((line) => line.startsWith("RECORD ")).map((line) =>
        JSON.parse(line.slice(7))
      );
      assert.equal(
        records.at(-1).count,
        whole.x.shape[0],
        "the last record holds every sample once",
      );
    },
  );

  test(
    "records carry the running view (and with includeState its accumulator), the batches committed since the last record and the last W batches",
    { skip, timeout: 60_000 },
    async () => {
      const redis = redisService.url();
      const stream = uniqueStream("views");
      const batches = randomBatches({ count: 12, seed: 22 });
      await publishRedisBatches(batches, { redis, stream });
      // One worker commits in publication order, so the window is the last W batches published.
      await runRedisWorker({ redis, stream, group: "g", name: "w", untilIdleMs: 0, blockMs: 50 });
      const records = [];
      for await (
        const record of runRedisAggregator({
          redis,
          stream,
          group: "g",
          window: 5,
          loss: { tol: 0, abs: false },
          untilIdleMs: 0,
          includeState: true,
        })
      ) {
        records.push(record);
      }
      assert.equal(records.length, 1);
      const record = records[0]!;
      const whole = concat(batches);
      assert.equal(record.batches, 12);
      assert.equal(record.count, whole.x.shape[0]);
      assert.ok(
        maxAbsDiff(
          record.running.correlations!.data,
          batchCorr(whole.x, whole.n, { abs: false }).data,
        ) <= 1e-12,
      );
      assert.equal(record.state!.count, record.count, "includeState: the merged accumulator");
      assert.ok(
        maxAbsDiff(
          record.state!.correlations({ tol: 0, abs: false }).data,
          record.running.correlations!.data,
        ) === 0,
      );
      const last5 = concat(batches.slice(-5));
      assert.equal(record.window!.effectiveCount, last5.x.shape[0]);
      assert.ok(
        maxAbsDiff(
          record.window!.correlations!.data,
          batchCorr(last5.x, last5.n, { abs: false }).data,
        ) <= 1e-12,
      );
      assert.equal(
        record.interval,
        undefined,
        "nothing was committed after the aggregator started",
      );
    },
  );

  test("the interval view holds exactly the batches committed between two records", {
    skip,
    timeout: 60_000,
  }, async () => {
    const redis = redisService.url();
    const stream = uniqueStream("interval");
    const batches = randomBatches({ count: 8, seed: 23 });
    await publishRedisBatches(batches.slice(0, 5), { redis, stream });
    await runRedisWorker({ redis, stream, group: "g", name: "w", untilIdleMs: 0, blockMs: 50 });
    const aggregator = runRedisAggregator({
      redis,
      stream,
      group: "g",
      intervalMs: 20,
      loss: { abs: false },
    });
    const first = (await aggregator.next()).value!;
    assert.equal(first.batches, 5);
    await publishRedisBatches(batches.slice(5), { redis, stream, idPrefix: "more-" });
    await runRedisWorker({ redis, stream, group: "g", name: "w", untilIdleMs: 0, blockMs: 50 });
    let next = (await aggregator.next()).value!;
    while (next.batches < 8) next = (await aggregator.next()).value!;
    await aggregator.return();
    const added = concat(batches.slice(5));
    assert.equal(next.interval!.effectiveCount, added.x.shape[0]);
    assert.ok(
      maxAbsDiff(
        next.interval!.correlations!.data,
        batchCorr(added.x, added.n, { abs: false }).data,
      ) <= 1e-12,
    );
    assert.equal(next.newBatches, 3);
  });

  test(
    "the decay view weights batches in commit order, and a restarted aggregator rebuilds it from the log",
    {
      skip,
      timeout: 60_000,
    },
    async () => {
      const redis = redisService.url();
      const stream = uniqueStream("decay");
      const batches = randomBatches({ count: 9, seed: 24 });
      const decay = 0.8;
      await publishRedisBatches(batches.slice(0, 5), { redis, stream });
      // One worker commits in publication order, so commit order is the batches' order.
      await runRedisWorker({ redis, stream, group: "g", name: "w", untilIdleMs: 0, blockMs: 50 });
      const options = { redis, stream, group: "g", decay, loss: { tol: 0, abs: false } };
      const aggregator = runRedisAggregator({ ...options, intervalMs: 20 });
      const first = (await aggregator.next()).value!;
      assert.equal(first.batches, 5);
      assert.ok(
        maxAbsDiff(
          first.window!.correlations!.data,
          decayedCorrelations(batches.slice(0, 5), decay).r,
        ) <=
          1e-12,
      );
      await publishRedisBatches(batches.slice(5), { redis, stream, idPrefix: "more-" });
      await runRedisWorker({ redis, stream, group: "g", name: "w", untilIdleMs: 0, blockMs: 50 });
      let next = (await aggregator.next()).value!;
      while (next.batches < 9) next = (await aggregator.next()).value!;
      await aggregator.return();
      const reference = decayedCorrelations(batches, decay);
      assert.ok(maxAbsDiff(next.window!.correlations!.data, reference.r) <= 1e-12);
      assert.ok(Math.abs(next.window!.effectiveCount / reference.effectiveCount - 1) <= 1e-12);

      const restarted = [];
      for await (const record of runRedisAggregator({ ...options, untilIdleMs: 0 })) {
        restarted.push(record);
      }
      assert.equal(restarted.length, 1);
      assert.deepEqual(restarted[0]!.window, next.window, "rebuilt from the log, bit for bit");
    },
  );

  test("refuses a decay outside (0, 1] or given with a window, before connecting", async () => {
    const options = { redis: "redis://127.0.0.1:1", stream: "s", group: "g" };
    await assert.rejects(
      runRedisAggregator({ ...options, decay: 1.5 }).next(),
      (e: Error) => e instanceof RangeError && /options\.decay.*\(0, 1\].*1\.5/.test(e.message),
    );
    await assert.rejects(
      runRedisAggregator({ ...options, decay: 0.5, window: 4 }).next(),
      (e: Error) => e instanceof TypeError && /window and options\.decay/.test(e.message),
    );
  });
});
