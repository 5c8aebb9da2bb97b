import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { BatchCorrError, CorrelationAccumulator } from "../../mod.ts";
import {
  publishNatsBatches,
  readNatsCommitted,
  runNatsAggregator,
  runNatsWorker,
} from "../../src/nats/mod.ts";
import { openNats, setNatsImporter } from "../../src/nats/_client.ts";
import { natsLayout, openBucket } from "../../src/nats/_layout.ts";
import { encodeCheckpoint } from "../../src/nats/_partition_store.ts";
import { type Child, jsonLine, natsService, spawnScript } from "../_services.ts";
import { assertMatches, type DenseBatch, randomBatches } from "../distributed/_batches.ts";

const WORKER = fileURLToPath(new URL("./_worker_process.ts", import.meta.url));
const skip = natsService.skip;

interface Summary {
  batches: number;
  refusedCommits: number;
  skipped: number;
  deadLetters: number;
}

function uniqueStream(label: string): string {
  return `t_${label}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
}

function startWorker(config: Record<string, unknown>): Child {
  return spawnScript(WORKER, { ackWaitMs: 1000, untilIdleMs: 800, ...config });
}

async function summaryOf(child: Child): Promise<Summary> {
  const summary = await jsonLine<Summary>(child, "SUMMARY", 60_000).catch((error) => {
    child.process.kill("SIGKILL");
    throw error;
  });
  await child.exited;
  return summary;
}

async function committedMatches(stream: string, batches: DenseBatch[]): Promise<void> {
  const committed = await readNatsCommitted({ nats: natsService.url(), stream, group: "g" });
  assert.equal(committed.batches, batches.length, "every batch committed exactly once");
  assertMatches(committed.accumulator, batches);
}

describe("runNatsWorker", () => {
  for (const workers of [2, 3, 4]) {
    test(
      `${workers} worker processes give batchCorr of the concatenation to 1e-12 and the exact count`,
      { skip, timeout: 60_000 },
      async () => {
        const nats = natsService.url();
        const stream = uniqueStream(`exact${workers}`);
        const batches = randomBatches({ count: 24, seed: 200 + workers });
        await publishNatsBatches(batches, { nats, stream, partitions: 4 });
        const children = Array.from(
          { length: workers },
          () => startWorker({ nats, stream, group: "g" }),
        );
        const summaries = await Promise.all(children.map(summaryOf));
        assert.equal(
          summaries.reduce((total, s) => total + s.batches, 0),
          batches.length,
        );
        await committedMatches(stream, batches);
      },
    );
  }

  test(
    "a worker SIGKILLed before its commit loses nothing: JetStream redelivers after the ack wait",
    { skip, timeout: 60_000 },
    async () => {
      const nats = natsService.url();
      const stream = uniqueStream("kill_before");
      const batches = randomBatches({ count: 12, seed: 210 });
      await publishNatsBatches(batches, { nats, stream, partitions: 2 });
      const victim = startWorker({ nats, stream, group: "g", holdAt: 3 });
      await jsonLine(victim, "HOLDING");
      victim.process.kill("SIGKILL");
      await victim.exited;
      const survivor = startWorker({ nats, stream, group: "g" });
      const summary = await summaryOf(survivor);
      assert.equal(summary.batches, 10);
      await committedMatches(stream, batches);
    },
  );

  test("a worker SIGKILLed after its commit keeps what it committed and nothing more", {
    skip,
    timeout: 60_000,
  }, async () => {
    const nats = natsService.url();
    const stream = uniqueStream("kill_after");
    const batches = randomBatches({ count: 12, seed: 211 });
    await publishNatsBatches(batches, { nats, stream, partitions: 2 });
    const victim = startWorker({ nats, stream, group: "g", stopAfter: 3 });
    await jsonLine(victim, "COMMITTED");
    victim.process.kill("SIGKILL");
    await victim.exited;
    const survivor = startWorker({ nats, stream, group: "g" });
    const summary = await summaryOf(survivor);
    assert.equal(summary.batches, 9);
    assert.ok(
      summary.skipped <= 1,
      "an ack still unsent at the kill comes back and is skipped by the watermark",
    );
    await committedMatches(stream, batches);
  });

  test("a worker paused past the ack wait has its late compare-and-set refused", {
    skip,
    timeout: 60_000,
  }, async () => {
    const nats = natsService.url();
    const stream = uniqueStream("pause");
    const batches = randomBatches({ count: 10, seed: 212 });
    await publishNatsBatches(batches, { nats, stream, partitions: 1 });
    const stalled = startWorker({ nats, stream, group: "g", holdAt: 2, untilIdleMs: 1500 });
    await jsonLine(stalled, "HOLDING");
    const survivor = startWorker({ nats, stream, group: "g", untilIdleMs: 1500 });
    // One partition: the survivor can only go on once the stalled worker's message is redelivered to it.
    await survivor.waitFor(/^COMMIT .*"committed":true/, 20_000);
    stalled.process.kill("SIGCONT");
    const refused = await stalled.waitFor(/^COMMIT .*"committed":false/);
    assert.match(refused, /moved past revision/);
    const [a, b] = await Promise.all([summaryOf(stalled), summaryOf(survivor)]);
    assert.equal(a.refusedCommits, 1);
    assert.equal(a.batches + b.batches, batches.length);
    await committedMatches(stream, batches);
  });

  test(
    "a redelivered message at or below the checkpoint's watermark is skipped, not merged again",
    { skip, timeout: 30_000 },
    async () => {
      const nats = natsService.url();
      const stream = uniqueStream("watermark");
      const batches = randomBatches({ count: 3, seed: 213 });
      await publishNatsBatches(batches, { nats, stream, partitions: 1 });
      // A worker committed batch 0 (stream sequence 1) and died before its ack reached the server.
      const opened = await openNats(nats, "test");
      const layout = natsLayout(stream, "g");
      const bucket = await openBucket(opened, layout.checkpoints);
      const first = new CorrelationAccumulator().update(batches[0]!.x, batches[0]!.n);
      await bucket.create(
        layout.key(0),
        encodeCheckpoint({
          watermark: 1,
          batches: 1,
          commits: 1,
          deadLetters: 0,
          snapshot: first.toBytes(),
        }),
      );
      await opened.close();
      const summary = await runNatsWorker({ nats, stream, group: "g", untilIdleMs: 200 });
      assert.deepEqual([summary.batches, summary.skipped], [2, 1]);
      await committedMatches(stream, batches);
    },
  );

  test(
    "poisoned messages are dead-lettered with their sequence and reason and never block a partition",
    { skip, timeout: 30_000 },
    async () => {
      const nats = natsService.url();
      const stream = uniqueStream("poison");
      const good = randomBatches({ count: 4, seed: 214 });
      await publishNatsBatches(good, { nats, stream, partitions: 1 });
      await publishNatsBatches([
        {
          x: { data: new Float64Array([1, Number.NaN, 3]), shape: [3, 1] },
          n: [1, 2, 3],
          id: "nan",
        },
        { x: [[1], [2], [3]], n: [[1, 2, 3], [3, 1, 2], [2, 2, 1]], id: "wrong-shape" },
      ], { nats, stream });
      const opened = await openNats(nats, "test");
      await opened.js.publish(`batchcorr.${stream}.0`, new TextEncoder().encode("garbage"));
      await opened.close();
      const summary = await runNatsWorker({ nats, stream, group: "g", untilIdleMs: 200 });
      assert.deepEqual([summary.batches, summary.deadLetters], [4, 3]);
      const committed = await readNatsCommitted({ nats, stream, group: "g" });
      assert.equal(committed.deadLetters, 3);
      assertMatches(committed.accumulator, good);
      // The dead-letter stream holds each with its reason.
      const again = await openNats(nats, "test");
      const consumer = await again.js.consumers.get(`${stream}_dead`);
      const reasons: string[] = [];
      for await (const message of await consumer.fetch({ max_messages: 3, expires: 1000 })) {
        reasons.push(
          `${message.headers?.get("Batch-Corr-Batch")}: ${
            message.headers?.get("Batch-Corr-Reason")
          }`,
        );
        message.ack();
      }
      await again.close();
      assert.equal(reasons.length, 3);
      assert.ok(reasons.some((r) => /^nan: .*(NaN|finite)/.test(r)), reasons.join("\n"));
      assert.ok(
        reasons.some((r) => /^wrong-shape: .*(feature shape|confounds)/.test(r)),
        reasons.join("\n"),
      );
      assert.ok(reasons.some((r) => /^: .*(magic|length)/.test(r)), reasons.join("\n"));
    },
  );

  test("an aggregator restarted after the workers finish reads the same exact state", {
    skip,
    timeout: 30_000,
  }, async () => {
    const nats = natsService.url();
    const stream = uniqueStream("aggregate");
    const batches = randomBatches({ count: 10, seed: 215 });
    await publishNatsBatches(batches, { nats, stream, partitions: 3 });
    const aggregator = runNatsAggregator({
      nats,
      stream,
      group: "g",
      intervalMs: 50,
      loss: { abs: false },
    });
    await aggregator.next();
    await runNatsWorker({ nats, stream, group: "g", untilIdleMs: 200 });
    await aggregator.return(); // killed mid-way: nothing of its own is lost
    const records = [];
    for await (
      const record of runNatsAggregator({
        nats,
        stream,
        group: "g",
        untilIdleMs: 0,
        loss: { abs: false },
        includeState: true,
      })
    ) records.push(record);
    const last = records.at(-1)!;
    assert.equal(last.batches, 10);
    const reference = new CorrelationAccumulator();
    for (const batch of batches) reference.update(batch.x, batch.n);
    assert.equal(last.count, reference.count);
    const r = last.running.correlations!.data,
      expected = reference.correlations({ abs: false }).data;
    assert.ok(r.every((value, i) => Math.abs(value - expected[i]!) <= 1e-12));
    assert.equal(last.state!.count, reference.count, "includeState: the merged accumulator");
  });

  test("a producer retry adds nothing, and a batch larger than max_payload is refused by name", {
    skip,
    timeout: 30_000,
  }, async () => {
    const nats = natsService.url();
    const stream = uniqueStream("retry");
    const batches = randomBatches({ count: 5, seed: 216 });
    const first = await publishNatsBatches(batches, { nats, stream });
    const again = await publishNatsBatches(batches, { nats, stream });
    assert.deepEqual([first.added, again.added, again.duplicates], [5, 0, 5]);
    const big = {
      x: { data: new Float64Array(200_000), shape: [100_000, 2] },
      n: new Float64Array(100_000),
      id: "big",
    };
    await assert.rejects(
      publishNatsBatches([big], { nats, stream }),
      (error) =>
        error instanceof BatchCorrError && error.code === "resource_limit" &&
        /max_payload/.test(error.message),
    );
  });

  test("a missing @nats-io package fails with an error naming the packages and how to install them", async () => {
    setNatsImporter(() => Promise.reject(new Error("Cannot find package '@nats-io/jetstream'")));
    try {
      await assert.rejects(
        runNatsWorker({ nats: "nats://127.0.0.1:4222", stream: "s", group: "g" }),
        (error) =>
          error instanceof BatchCorrError && error.code === "peer_missing" &&
          /^Cannot connect to NATS as the optional packages @nats-io\/transport-node \(\^3\.4\.0\), @nats-io\/jetstream \(\^3\.4\.0\), @nats-io\/kv \(\^3\.4\.0\) must be installed: current value is not installed \(Cannot find package '@nats-io\/jetstream'\)/
            .test(error.message) &&
          /"deno add npm:@nats-io\/transport-node@\^3\.4\.0 npm:@nats-io\/jetstream@\^3\.4\.0 npm:@nats-io\/kv@\^3\.4\.0" \(Deno\)/
            .test(error.message) &&
          /"bun add @nats-io\/transport-node@\^3\.4\.0 @nats-io\/jetstream@\^3\.4\.0 @nats-io\/kv@\^3\.4\.0" \(Bun\)/
            .test(error.message) &&
          (error.details.packages as string[]).length === 3,
      );
    } finally {
      setNatsImporter(undefined);
    }
  });
});
