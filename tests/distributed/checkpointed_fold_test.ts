import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CorrelationAccumulator } from "../../mod.ts";
import {
  type BatchDelivery,
  type CheckpointCommit,
  CheckpointedFold,
  type CheckpointStore,
  encodeBatchEnvelope,
  runCheckpointedWorker,
} from "../../src/distributed/mod.ts";
import { assertMatches, randomBatches } from "./_batches.ts";

/** An in-memory store with a revision fence, that can refuse or fail on demand. */
class MemoryStore implements CheckpointStore {
  snapshot: Uint8Array | undefined;
  watermark: number | undefined;
  revision = 0;
  commits: CheckpointCommit[] = [];
  /** Apply the commit, then throw as if the reply were lost. */
  failAfterApplying = new Set<number>();
  /** Called when a commit is applied: like Redis's XACK inside the commit. */
  onApplied: (commit: CheckpointCommit) => void = () => {};
  load() {
    return Promise.resolve({
      snapshot: this.snapshot,
      watermark: this.watermark,
      fence: String(this.revision),
    });
  }
  commit(commit: CheckpointCommit, fence: string) {
    if (fence !== String(this.revision)) {
      return Promise.resolve({ committed: false as const, reason: "stale" });
    }
    this.snapshot = commit.snapshot;
    this.watermark = commit.watermark;
    this.revision++;
    this.commits.push(commit);
    this.onApplied(commit);
    if (this.failAfterApplying.delete(this.commits.length)) {
      return Promise.reject(new Error("connection reset"));
    }
    return Promise.resolve({ committed: true as const, fence: String(this.revision) });
  }
}

const deliveriesOf = (
  batches: ReturnType<typeof randomBatches>,
  positions = false,
): BatchDelivery[] =>
  batches.map((batch, i) => ({
    id: `${i}`,
    ...(positions ? { position: i + 1 } : {}),
    payload: encodeBatchEnvelope({ id: `b${i}`, x: batch.x, n: batch.n }),
    deliveries: 1,
  }));

describe("CheckpointedFold", () => {
  test("a refused commit leaves the committed state untouched", async () => {
    const store = new MemoryStore();
    const batches = randomBatches({ count: 2, seed: 1 });
    const fold = new CheckpointedFold(store);
    await fold.load();
    await fold.step(deliveriesOf(batches).slice(0, 1));
    store.revision += 1; // another writer committed in between
    const refused = await fold.step(deliveriesOf(batches).slice(1));
    assert.equal(refused.committed, false);
    assertMatches(fold.state, batches.slice(0, 1));
  });

  test("a commit that throws puts the committed state back, with and without deltas", async () => {
    for (const deltas of [true, false]) {
      const store = new MemoryStore();
      let failing = false;
      const flaky: CheckpointStore = {
        load: () => store.load(),
        commit: (commit, fence) =>
          failing ? Promise.reject(new Error("connection reset")) : store.commit(commit, fence),
      };
      const batches = randomBatches({ count: 3, seed: 11 });
      const fold = new CheckpointedFold(flaky, { deltas });
      await fold.load();
      await fold.step(deliveriesOf(batches).slice(0, 2));
      failing = true;
      await assert.rejects(fold.step(deliveriesOf(batches).slice(2)), /connection reset/);
      assertMatches(fold.state, batches.slice(0, 2));
    }
  });

  test("without deltas a step folds the same state and reports the same samples", async () => {
    const batches = randomBatches({ count: 4, seed: 12 });
    const withDeltas = new CheckpointedFold(new MemoryStore());
    const store = new MemoryStore();
    const without = new CheckpointedFold(store, { deltas: false });
    const a = await withDeltas.step(deliveriesOf(batches));
    const b = await without.step(deliveriesOf(batches));
    assert.equal(a.samples, b.samples);
    assert.equal(store.commits[0]!.deltas.length, 0);
    assertMatches(without.state, batches);
  });

  test("skips deliveries at or below the watermark and dead-letters poison with reasons", async () => {
    const store = new MemoryStore();
    const batches = randomBatches({ count: 3, seed: 2 });
    const fold = new CheckpointedFold(store, { maxDeliveries: 3 });
    await fold.load();
    const [a, b, c] = deliveriesOf(batches, true);
    assert.equal((await fold.step([a!, b!])).committed, true);
    const nan = encodeBatchEnvelope({
      id: "nan",
      x: { data: [1, Number.NaN, 3], shape: [3, 1] },
      n: [1, 2, 3],
    });
    const step = await fold.step([
      a!, // redelivered: position 1 ≤ watermark 2
      { id: "p3", position: 3, payload: nan, deliveries: 1 },
      { id: "p4", position: 4, payload: new Uint8Array([1, 2, 3]), deliveries: 1 },
      { ...c!, id: "p5", position: 5, deliveries: 4 },
      { ...c!, position: 6 },
    ]);
    assert.deepEqual(step.skipped.map((d) => d.id), ["0"]);
    assert.deepEqual(step.deadLetters.map((d) => [d.id, d.batchId]), [["p3", "nan"], [
      "p4",
      undefined,
    ], ["p5", undefined]]);
    assert.match(step.deadLetters[0]!.reason, /finite/);
    assert.match(step.deadLetters[2]!.reason, /delivered 4 times/);
    assert.equal(store.watermark, 6);
    assertMatches(fold.state, batches);
    assert.equal(store.commits.at(-1)!.deltas.length, 1);
    const delta = CorrelationAccumulator.fromBytes(store.commits.at(-1)!.deltas[0]!.snapshot);
    assertMatches(delta, batches.slice(2));
  });
});

describe("runCheckpointedWorker", () => {
  test("a commit whose reply was lost is reloaded, not folded again: exact after any failures", async () => {
    const store = new MemoryStore();
    store.failAfterApplying = new Set([2, 4]);
    const batches = randomBatches({ count: 8, seed: 3 });
    const queue = deliveriesOf(batches, true);
    let owned: BatchDelivery[] = [];
    // The commit acknowledges what it folded, whether or not its reply arrives.
    store.onApplied = () => (owned = []);
    const summary = await runCheckpointedWorker({
      source: {
        receive: ({ max }) => {
          if (owned.length === 0) owned = queue.splice(0, max);
          return Promise.resolve([...owned]);
        },
        rewind: () => {},
        drained: () => Promise.resolve(queue.length === 0 && owned.length === 0),
      },
      store,
      batchesPerCommit: 2,
      untilIdleMs: 0,
      retryForMs: 1000,
    });
    assert.equal(summary.failedCommits, 2);
    assert.equal(summary.stoppedBy, "idle");
    assertMatches(CorrelationAccumulator.fromBytes(store.snapshot!), batches);
  });

  test("an aborted signal stops the worker after the batch in hand", async () => {
    const controller = new AbortController();
    const store = new MemoryStore();
    const batches = randomBatches({ count: 5, seed: 4 });
    const queue = deliveriesOf(batches);
    const summary = await runCheckpointedWorker({
      source: {
        receive: () => Promise.resolve(queue.splice(0, 1)),
        rewind: () => {},
        drained: () => Promise.resolve(queue.length === 0),
      },
      store,
      signal: controller.signal,
      onCommit: (step) => {
        if (step.folded[0]!.id === "1") controller.abort();
      },
    });
    assert.deepEqual([summary.stoppedBy, summary.batches], ["signal", 2]);
    assertMatches(CorrelationAccumulator.fromBytes(store.snapshot!), batches.slice(0, 2));
  });

  test("readAhead reads the next batches while folding, and a stop commits them too", async () => {
    for (const stopAt of [undefined, "2"]) {
      const controller = new AbortController();
      const store = new MemoryStore();
      const batches = randomBatches({ count: 7, seed: 13 });
      const queue = deliveriesOf(batches);
      const waits: boolean[] = [];
      const summary = await runCheckpointedWorker({
        source: {
          receive: ({ max, wait }) => {
            waits.push(wait !== false);
            return Promise.resolve(queue.splice(0, max));
          },
          rewind: () => {},
          drained: () => Promise.resolve(queue.length === 0),
        },
        store,
        readAhead: true,
        batchesPerCommit: 2,
        untilIdleMs: 0,
        signal: controller.signal,
        onCommit: (step) => {
          if (step.folded.some((d) => d.id === stopAt)) controller.abort();
        },
      });
      assert.ok(waits.includes(false), "some reads did not wait");
      if (stopAt === undefined) {
        assert.deepEqual([summary.stoppedBy, summary.batches], ["idle", 7]);
        assertMatches(CorrelationAccumulator.fromBytes(store.snapshot!), batches);
      } else {
        // The commit holding batch 2 (batches 2 and 3) ends the run, after the two read ahead (4, 5).
        assert.deepEqual([summary.stoppedBy, summary.batches], ["signal", 6]);
        assertMatches(CorrelationAccumulator.fromBytes(store.snapshot!), batches.slice(0, 6));
      }
    }
  });

  test("rejects out-of-range loop settings", async () => {
    const store = new MemoryStore();
    const source = {
      receive: () => Promise.resolve([]),
      rewind: () => {},
      drained: () => Promise.resolve(true),
    };
    await assert.rejects(
      runCheckpointedWorker({ source, store, batchesPerCommit: 0 }),
      /batchesPerCommit must be an integer ≥ 1/,
    );
    await assert.rejects(runCheckpointedWorker({ source, store, untilIdleMs: -1 }), RangeError);
  });
});
