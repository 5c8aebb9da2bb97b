import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CorrelationAccumulator } from "../../mod.ts";
import { momentsOfBatch } from "../../src/accumulator/accumulable_moments.ts";
import { prepareBatch } from "../../src/core/prepare_batch.ts";

const first = { x: [[1, 4], [2, 2], [3, 3]], n: [0.1, 0.5, 0.2] };
const second = { x: [[4, 1], [5, 0], [0, 2]], n: [0.9, 0.3, 0.4] };

function stageOf(
  accumulator: CorrelationAccumulator,
  batch: { x: number[][]; n: number[] },
  decay?: number,
) {
  const prepared = prepareBatch(batch.x, batch.n, "test", ["x", "n"]);
  const moments = momentsOfBatch(prepared, "test", ["x", "n"]);
  return accumulator.stage(moments, {
    featureShape: prepared.featureShape,
    context: "test",
    ...(decay ? { decay } : {}),
  });
}

describe("CorrelationAccumulator.stage", () => {
  test("a committed stage gives the state update gives, and the staged view shows it before the commit", () => {
    const staged = new CorrelationAccumulator().update(first.x, first.n);
    const updated = staged.clone().update(second.x, second.n);
    const merge = stageOf(staged, second);
    assert.equal(merge.moments.count, 6);
    assert.equal(merge.effectiveCount, 6);
    assert.deepEqual(Array.from(merge.moments.comoment), Array.from(updated.moments().comoment));
    assert.equal(staged.count, 3, "the state is unchanged until the commit");
    merge.commit();
    assert.deepEqual(staged.toBytes(), updated.toBytes());
  });

  test("a stage that is dropped leaves the state exactly as it was, even the first one", () => {
    const accumulator = new CorrelationAccumulator().update(first.x, first.n);
    const before = accumulator.toBytes();
    stageOf(accumulator, second);
    assert.deepEqual(accumulator.toBytes(), before);
    const fresh = new CorrelationAccumulator();
    stageOf(fresh, first);
    assert.equal(fresh.count, 0);
    assert.equal(fresh.featureShape, undefined);
    assert.deepEqual(
      fresh.update(second.x, second.n).toBytes(),
      new CorrelationAccumulator().update(second.x, second.n).toBytes(),
    );
  });

  test("only the latest stage commits, and only once", () => {
    const accumulator = new CorrelationAccumulator().update(first.x, first.n);
    const older = stageOf(accumulator, second);
    const newer = stageOf(accumulator, first);
    assert.throws(
      () => older.commit(),
      (e) => e instanceof TypeError && /latest stage/.test(e.message),
    );
    assert.equal(accumulator.count, 3);
    newer.commit();
    assert.equal(accumulator.count, 6);
    assert.throws(() => newer.commit(), TypeError);
    const replaced = stageOf(accumulator, second);
    accumulator.update(second.x, second.n);
    assert.throws(() => replaced.commit(), TypeError);
    assert.equal(accumulator.count, 9);
  });

  test("a decayed stage scales the state's weights first: the effective count is (Σw)² / Σw²", () => {
    const accumulator = new CorrelationAccumulator().update(first.x, first.n);
    const merge = stageOf(accumulator, second, 0.5);
    // Σw = 3·0.5 + 3 = 4.5, Σw² = 3·0.25 + 3 = 3.75.
    assert.equal(merge.moments.count, 4.5);
    assert.equal(merge.effectiveCount, 4.5 * 4.5 / 3.75);
    merge.commit();
    assert.equal(accumulator.effectiveCount, 4.5 * 4.5 / 3.75);
  });

  test("a batch of another shape is refused at the stage, naming both shapes", () => {
    const accumulator = new CorrelationAccumulator().update(first.x, first.n);
    assert.throws(
      () => stageOf(accumulator, { x: [[1], [2], [3]], n: [1, 2, 4] }),
      (e) => e instanceof TypeError && /\[2\]/.test(e.message) && /\[1\]/.test(e.message),
    );
  });
});
