import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { BatchCorrError } from "../../mod.ts";
import { encodeBatchEnvelope } from "../../src/distributed/mod.ts";
import {
  publishRedisBatches,
  readRedisCommitted,
  readRedisDeadLetters,
  runRedisWorker,
} from "../../src/redis/mod.ts";
import { openRedis } from "../../src/redis/_client.ts";
import { type Child, jsonLine, redisService, spawnScript } from "../_services.ts";
import { assertMatches, type DenseBatch, randomBatches } from "../distributed/_batches.ts";

const WORKER = fileURLToPath(new URL("./_worker_process.ts", import.meta.url));
const skip = redisService.skip;

interface Summary {
  name: string;
  batches: number;
  commits: number;
  refusedCommits: number;
  claimed: number;
  deadLetters: number;
}

function uniqueStream(label: string): string {
  return `test-${label}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
}

function startWorker(config: Record<string, unknown>): Child {
  return spawnScript(WORKER, { blockMs: 100, claimIdleMs: 800, untilIdleMs: 800, ...config });
}

async function summaryOf(child: Child): Promise<Summary> {
  const summary = await jsonLine<Summary>(child, "SUMMARY", 60_000).catch((error) => {
    child.process.kill("SIGKILL");
    throw error;
  });
  await child.exited;
  return summary;
}

async function committedMatches(stream: string, batches: DenseBatch[]): Promise<number> {
  const committed = await readRedisCommitted({ redis: redisService.url(), stream, group: "g" });
  assert.equal(committed.batches, batches.length, "every batch committed exactly once");
  return assertMatches(committed.accumulator, batches);
}

describe("runRedisWorker", () => {
  for (const workers of [2, 3, 4]) {
    test(
      `${workers} worker processes give batchCorr of the concatenation to 1e-12 and the exact count`,
      { skip, timeout: 60_000 },
      async () => {
        const redis = redisService.url();
        const stream = uniqueStream(`exact${workers}`);
        const batches = randomBatches({ count: 30, seed: 100 + workers, featureShape: [2, 3] });
        const children = Array.from(
          { length: workers },
          (_, i) =>
            startWorker({
              redis,
              stream,
              group: "g",
              name: `w${i}`,
              untilIdleMs: 2500,
              waitForEntries: true,
              commitDelayMs: 100,
            }),
        );
        await Promise.all(children.map((child) => child.waitFor(/^READY/)));
        await publishRedisBatches(batches, { redis, stream });
        const summaries = await Promise.all(children.map(summaryOf));
        assert.equal(summaries.reduce((total, s) => total + s.batches, 0), batches.length);
        assert.ok(summaries.filter((s) => s.batches > 0).length >= 2, "the work was shared");
        await committedMatches(stream, batches);
      },
    );
  }

  test("a worker SIGKILLed before its commit loses nothing: a survivor claims its entry", {
    skip,
    timeout: 60_000,
  }, async () => {
    const redis = redisService.url();
    const stream = uniqueStream("kill-before");
    const batches = randomBatches({ count: 20, seed: 7 });
    await publishRedisBatches(batches, { redis, stream });
    const victim = startWorker({ redis, stream, group: "g", name: "victim", holdAt: 3 });
    const held = await jsonLine<{ folded: string[] }>(victim, "HOLDING");
    victim.process.kill("SIGKILL");
    await victim.exited;
    const survivor = startWorker({ redis, stream, group: "g", name: "survivor" });
    const summary = await summaryOf(survivor);
    assert.equal(
      summary.claimed,
      held.folded.length,
      "the survivor claimed the entry the victim held",
    );
    assert.equal(summary.batches, 18);
    await committedMatches(stream, batches);
  });

  test(
    "a worker restarted under its name after SIGKILL reloads its snapshot and re-reads its pending entries",
    { skip, timeout: 60_000 },
    async () => {
      const redis = redisService.url();
      const stream = uniqueStream("restart");
      const batches = randomBatches({ count: 12, seed: 8 });
      await publishRedisBatches(batches, { redis, stream });
      const first = startWorker({
        redis,
        stream,
        group: "g",
        name: "solo",
        holdAt: 4,
        claimIdleMs: 60_000,
      });
      await jsonLine(first, "HOLDING");
      first.process.kill("SIGKILL");
      await first.exited;
      const before = await readRedisCommitted({ redis, stream, group: "g" });
      assert.equal(before.batches, 3, "three commits before the kill");
      const second = startWorker({ redis, stream, group: "g", name: "solo", claimIdleMs: 60_000 });
      const summary = await summaryOf(second);
      assert.equal(summary.claimed, 0, "its own pending entry came back without a claim");
      assert.equal(summary.batches, 9);
      await committedMatches(stream, batches);
    },
  );

  test("a worker SIGKILLed after its commit keeps what it committed and nothing more", {
    skip,
    timeout: 60_000,
  }, async () => {
    const redis = redisService.url();
    const stream = uniqueStream("kill-after");
    const batches = randomBatches({ count: 20, seed: 9 });
    await publishRedisBatches(batches, { redis, stream });
    const victim = startWorker({ redis, stream, group: "g", name: "victim", stopAfter: 3 });
    await jsonLine(victim, "COMMITTED");
    victim.process.kill("SIGKILL");
    await victim.exited;
    const survivor = startWorker({ redis, stream, group: "g", name: "survivor" });
    const summary = await summaryOf(survivor);
    assert.equal(summary.batches, 17);
    assert.equal(summary.claimed, 0, "nothing was left pending at the victim");
    await committedMatches(stream, batches);
  });

  test(
    "a worker paused past the claim timeout has its late commit refused after a survivor took its entry",
    { skip, timeout: 60_000 },
    async () => {
      const redis = redisService.url();
      const stream = uniqueStream("pause");
      const batches = randomBatches({ count: 16, seed: 10 });
      await publishRedisBatches(batches, { redis, stream });
      const stalled = startWorker({ redis, stream, group: "g", name: "stalled", holdAt: 2 });
      const held = await jsonLine<{ folded: string[] }>(stalled, "HOLDING");
      const heldId = held.folded[0]!;
      // While the stalled worker is stopped, a survivor claims its entry (idle > 800 ms) and commits it.
      const survivor = startWorker({
        redis,
        stream,
        group: "g",
        name: "survivor",
        untilIdleMs: 1500,
      });
      await survivor.waitFor(new RegExp(`^COMMIT .*"committed":true.*"${heldId}"`), 20_000);
      stalled.process.kill("SIGCONT");
      const refused = await stalled.waitFor(/^COMMIT .*"committed":false/);
      assert.match(refused, /no longer pending for stalled/);
      const [a, b] = await Promise.all([summaryOf(stalled), summaryOf(survivor)]);
      assert.equal(a.refusedCommits, 1);
      assert.equal(a.batches + b.batches, batches.length);
      await committedMatches(stream, batches);
    },
  );

  test("poisoned entries are dead-lettered with their id and reason and never block the group", {
    skip,
    timeout: 60_000,
  }, async () => {
    const redis = redisService.url();
    const stream = uniqueStream("poison");
    const good = randomBatches({ count: 6, seed: 11 });
    await publishRedisBatches(good.slice(0, 3), { redis, stream, idPrefix: "good-a-" });
    const opened = await openRedis(redis, "test");
    const nan = {
      x: { data: new Float64Array([1, Number.NaN, 3, 4, 5, 6]), shape: [3, 2] },
      n: [1, 2, 3],
    };
    const wrongShape = { x: [[1], [2], [3]], n: [[1, 2, 3], [3, 1, 2]] };
    const garbage = await opened.client.callBuffer(
      "XADD",
      stream,
      "*",
      "batch",
      "garbage",
      "envelope",
      "not an envelope",
    );
    const noEnvelope = await opened.client.callBuffer("XADD", stream, "*", "something", "else");
    await opened.close();
    const poisoned = await publishRedisBatches([
      { ...nan, id: "nan" },
      { ...wrongShape, id: "wrong-shape" },
    ], { redis, stream });
    assert.equal(poisoned.added, 2);
    await publishRedisBatches(good.slice(3), { redis, stream, idPrefix: "good-b-" });
    const summary = await runRedisWorker({
      redis,
      stream,
      group: "g",
      name: "w",
      untilIdleMs: 200,
      blockMs: 50,
    });
    assert.equal(summary.batches, 6);
    assert.equal(summary.deadLetters, 4);
    const dead = await readRedisDeadLetters({ redis, stream, group: "g" });
    const byBatch = new Map(dead.map((d) => [d.batchId, d]));
    assert.equal(dead.length, 4);
    assert.match(byBatch.get("nan")!.reason, /NaN|finite/);
    assert.match(byBatch.get("wrong-shape")!.reason, /feature shape|confounds/);
    assert.match(byBatch.get("garbage")!.reason, /magic|length/);
    assert.equal(byBatch.get("garbage")!.entryId, String(garbage));
    assert.ok(dead.some((d) => d.entryId === String(noEnvelope)));
    assert.ok(dead.every((d) => d.worker === "w" && d.entryId !== ""));
    await committedMatches(stream, good);
  });

  test(
    "a second process under the same name fences the first: its commit is refused with commit_refused",
    { skip, timeout: 60_000 },
    async () => {
      const redis = redisService.url();
      const stream = uniqueStream("zombie");
      const batches = randomBatches({ count: 5, seed: 12 });
      await publishRedisBatches(batches, { redis, stream });
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let holding!: () => void;
      const isHolding = new Promise<void>((resolve) => (holding = resolve));
      const zombie = runRedisWorker({
        redis,
        stream,
        group: "g",
        name: "same",
        blockMs: 50,
        claimIdleMs: 60_000,
        beforeCommit: async () => {
          holding();
          await released;
        },
      });
      await isHolding;
      const successor = await runRedisWorker({
        redis,
        stream,
        group: "g",
        name: "same",
        untilIdleMs: 100,
        blockMs: 50,
        claimIdleMs: 60_000,
      });
      release();
      await assert.rejects(
        zombie,
        (error) =>
          error instanceof BatchCorrError && (error.code as string) === "commit_refused" &&
          /same name/.test(error.message),
      );
      assert.equal(successor.batches, 5);
      await committedMatches(stream, batches);
    },
  );

  test("rejects malformed options naming the option", { timeout: 20_000 }, async () => {
    await assert.rejects(runRedisWorker({ redis: "http://x", stream: "s", group: "g" }), TypeError);
    await assert.rejects(
      runRedisWorker({ redis: "redis://127.0.0.1:1", stream: "s", group: "g", name: "has space" }),
      /options.name/,
    );
    await assert.rejects(
      runRedisWorker({
        redis: "redis://127.0.0.1:1",
        stream: "s",
        group: "g",
        batchesPerCommit: 0,
      }),
      (error) => error instanceof RangeError && /batchesPerCommit/.test(error.message),
    );
    await assert.rejects(
      runRedisWorker(
        { redis: "redis://127.0.0.1:1", stream: "s", group: "g", unknown: 1 } as never,
      ),
      /known keys/,
    );
  });

  test("an envelope stays bit-exact through Redis", { skip, timeout: 60_000 }, async () => {
    const redis = redisService.url();
    const stream = uniqueStream("bits");
    const x = new Float64Array([Math.PI, -0, 1e-300, 5e-324, 1.7976931348623157e308 / 1e10, 1 / 3]);
    await publishRedisBatches([{ x: { data: x, shape: [3, 2] }, n: [1, 2, 4], id: "b" }], {
      redis,
      stream,
    });
    const opened = await openRedis(redis, "test");
    const reply = await opened.client.callBuffer("XRANGE", stream, "-", "+") as unknown[][];
    await opened.close();
    const fields = reply[0]![1] as Uint8Array[];
    const expected = encodeBatchEnvelope({ id: "b", x: { data: x, shape: [3, 2] }, n: [1, 2, 4] });
    assert.deepEqual(new Uint8Array(fields[3]!), expected);
  });
});
