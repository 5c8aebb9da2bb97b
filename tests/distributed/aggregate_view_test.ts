import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { batchCorr, correlateBatches, CorrelationAccumulator } from "../../mod.ts";
import { AggregateView, type BatchDelta, type CommittedPart } from "../../src/distributed/mod.ts";
import { concat, maxAbsDiff } from "../fuzz_support.ts";
import { randomBatches } from "./_batches.ts";
import { decayedCorrelations } from "../_weighted_reference.ts";

const snapshot = (batch: ReturnType<typeof randomBatches>[number]) =>
  new CorrelationAccumulator().update(batch.x, batch.n).toBytes();

/** Each batch as its per-batch log entry: entry id `i`, batch id `b<i>`. */
const deltasOf = (batches: ReturnType<typeof randomBatches>): BatchDelta[] =>
  batches.map((batch, i) => ({ id: `${i}`, batchId: `b${i}`, snapshot: snapshot(batch) }));

describe("AggregateView", () => {
  test("running, interval and window views over committed parts and per-batch deltas", () => {
    const batches = randomBatches({ count: 6, seed: 91 });
    const view = new AggregateView({ window: 3, loss: { abs: false, tol: 0 } });
    const deltas = deltasOf(batches);
    const part = (name: string, from: number, to: number): CommittedPart => {
      const state = new CorrelationAccumulator();
      for (const batch of batches.slice(from, to)) state.update(batch.x, batch.n);
      return {
        name,
        snapshot: state.toBytes(),
        batches: to - from,
        commits: to - from,
        deadLetters: 0,
      };
    };
    const first = view.record([part("a", 0, 2), part("b", 2, 4)], deltas.slice(0, 4));
    const second = view.record(
      [part("b", 2, 4), part("a", 0, 2), part("c", 4, 6)],
      deltas.slice(4),
      1,
    );
    const r = (list: typeof batches) => {
      const whole = concat(list);
      return batchCorr(whole.x, whole.n, { abs: false }).data;
    };
    assert.deepEqual([first.index, second.index], [0, 1]);
    assert.ok(maxAbsDiff(first.running.correlations!.data, r(batches.slice(0, 4))) <= 1e-12);
    assert.ok(maxAbsDiff(second.running.correlations!.data, r(batches)) <= 1e-12);
    assert.ok(maxAbsDiff(second.interval!.correlations!.data, r(batches.slice(4))) <= 1e-12);
    assert.ok(maxAbsDiff(second.window!.correlations!.data, r(batches.slice(3))) <= 1e-12);
    assert.deepEqual(second.workers.map((w) => w.name), ["a", "b", "c"]);
    assert.deepEqual([second.batches, second.newBatches, second.deadLetters], [6, 2, 1]);
    assert.equal(second.lastBatch!.batchId, "b5");
  });

  test("the first record names the last seeded batch; later ones only batches committed since", () => {
    const [a, b] = randomBatches({ count: 2, seed: 92 });
    const view = new AggregateView();
    view.seedWindow([
      { id: "1-0", batchId: "b0", snapshot: snapshot(a!), meta: '{"line":2}' },
      { id: "2-0", batchId: "b1", snapshot: snapshot(b!), meta: '{"line":27}' },
    ]);
    const parts = [{ name: "w", snapshot: snapshot(a!), batches: 1, commits: 1, deadLetters: 0 }];
    const first = view.record(parts, []);
    assert.deepEqual(first.lastBatch, { batchId: "b1", meta: { line: 27 } });
    assert.equal(first.interval, undefined, "nothing committed since the view started");
    assert.equal(view.record(parts, []).lastBatch, undefined);
  });

  test("an empty state reports NaN views instead of failing, and tol auto waits for 3 samples", () => {
    const view = new AggregateView({ loss: { tol: "auto" } });
    const empty = view.record([], []);
    assert.ok(Number.isNaN(empty.running.loss) && empty.count === 0);
    const two = new CorrelationAccumulator().update([[1], [2]], [1, 3]).toBytes();
    assert.ok(
      Number.isNaN(
        view.record([{ name: "w", snapshot: two, batches: 1, commits: 1, deadLetters: 0 }], [])
          .running.tol,
      ),
    );
  });

  test("with includeState each record carries its own merged accumulator, and none by default", () => {
    const batches = randomBatches({ count: 3, seed: 93 });
    const parts: CommittedPart[] = batches.map((batch, i) => ({
      name: `w${i}`,
      snapshot: snapshot(batch),
      batches: 1,
      commits: 1,
      deadLetters: 0,
    }));
    const view = new AggregateView({ includeState: true, output: "losses" });
    const first = view.record(parts.slice(0, 2), []);
    const second = view.record(parts, []);
    assert.ok(first.state !== undefined && second.state !== undefined);
    assert.notEqual(first.state, second.state, "a fresh accumulator per record");
    assert.deepEqual([first.state.count, second.state.count], [first.count, second.count]);
    const whole = concat(batches);
    const signed = batchCorr(whole.x, whole.n, { abs: false, tol: 0 }).data;
    const fromState = second.state.correlations({ abs: false, tol: 0 }).data;
    assert.ok(maxAbsDiff(fromState, signed) <= 1e-12, "the signed r before any tolerance");
    assert.equal(new AggregateView().record(parts, []).state, undefined);
  });

  test("a decay view weights each committed batch decay per later batch, as a stream's decay view", async () => {
    const batches = randomBatches({ count: 7, seed: 93, featureShape: [5], confounds: 3 });
    const decay = 0.7;
    const deltas = deltasOf(batches);
    const view = new AggregateView({ decay, loss: { abs: false, tol: 0 } });
    const records = [
      view.record([], deltas.slice(0, 2)),
      view.record([], []),
      view.record([], deltas.slice(2, 3)),
      view.record([], deltas.slice(3)),
    ];
    const reference = decayedCorrelations(batches, decay);
    const last = records.at(-1)!.window!;
    assert.ok(maxAbsDiff(last.correlations!.data, reference.r) <= 1e-12);
    assert.ok(Math.abs(last.effectiveCount - reference.effectiveCount) <= 1e-9);
    // A record with nothing new keeps the view as it was: no decay step without a batch.
    assert.deepEqual(
      records[1]!.window!.correlations!.data,
      records[0]!.window!.correlations!.data,
    );
    assert.ok(
      maxAbsDiff(
        records[0]!.window!.correlations!.data,
        decayedCorrelations(batches.slice(0, 2), decay).r,
      ) <=
        1e-12,
    );

    let streamed;
    for await (
      const result of correlateBatches(batches, { decay, abs: false, tol: 0, threads: 1 })
    ) streamed = result;
    assert.deepEqual(last.correlations!.data, streamed!.window!.correlations!.data);
    assert.equal(last.effectiveCount, streamed!.window!.effectiveCount);
  });

  test("a restarted decay view seeded with every committed batch equals the uninterrupted one", () => {
    const batches = randomBatches({ count: 6, seed: 94 });
    const deltas = deltasOf(batches);
    const options = { decay: 0.5, loss: { tol: "auto" as const } };
    const uninterrupted = new AggregateView(options);
    uninterrupted.record([], deltas.slice(0, 4));
    const expected = uninterrupted.record([], deltas.slice(4)).window!;
    const restarted = new AggregateView(options);
    restarted.seedWindow(deltas.slice(0, 4));
    const seeded = restarted.record([], []).window!;
    const after = restarted.record([], deltas.slice(4)).window!;
    assert.deepEqual(after, expected);
    assert.ok(Number.isFinite(seeded.loss));
    assert.ok(
      Math.abs(
        seeded.effectiveCount - decayedCorrelations(batches.slice(0, 4), 0.5).effectiveCount,
      ) <= 1e-9,
    );
  });

  test("rejects a decay outside (0, 1], of the wrong type, or given with a window", () => {
    for (const decay of [0, -0.5, 1.5, Number.NaN]) {
      assert.throws(
        () => new AggregateView({ decay }),
        (error: Error) =>
          error instanceof RangeError && error.message.includes("options.decay") &&
          error.message.includes("(0, 1]") && error.message.includes(String(decay)),
      );
    }
    assert.throws(() => new AggregateView({ decay: "0.5" as never }), TypeError);
    assert.throws(
      () => new AggregateView({ decay: 0.5, window: 3 }),
      (error: Error) =>
        error instanceof TypeError && /window and options\.decay/.test(error.message),
    );
  });

  test("rejects a window that is not a positive integer", () => {
    assert.throws(() => new AggregateView({ window: 0 }), RangeError);
    assert.throws(() => new AggregateView({ output: "all" as never }), TypeError);
    assert.throws(() => new AggregateView({ includeState: 1 as never }), TypeError);
  });
});
