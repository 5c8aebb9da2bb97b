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

describe("decayed stages weight each batch by λ^age, once", () => {
  /** Weighted moments straight from their definition, sample by sample. */
  function weighted(batches: { x: number[][]; n: number[] }[], weights: number[]) {
    const rows = batches.flatMap((b, j) => b.n.map((n, i) => ({ x: b.x[i]!, n, w: weights[j]! })));
    const W = rows.reduce((t, r) => t + r.w, 0);
    const W2 = rows.reduce((t, r) => t + r.w * r.w, 0);
    const F = rows[0]!.x.length;
    const meanN = rows.reduce((t, r) => t + r.w * r.n, 0) / W;
    const meanX = Array.from(
      { length: F },
      (_, f) => rows.reduce((t, r) => t + r.w * r.x[f]!, 0) / W,
    );
    const m2N = rows.reduce((t, r) => t + r.w * (r.n - meanN) ** 2, 0);
    const m2X = meanX.map((m, f) => rows.reduce((t, r) => t + r.w * (r.x[f]! - m) ** 2, 0));
    const comoment = meanX.map((m, f) =>
      rows.reduce((t, r) => t + r.w * (r.x[f]! - m) * (r.n - meanN), 0)
    );
    return {
      count: W,
      effectiveCount: W * W / W2,
      meanX,
      meanN: [meanN],
      m2X,
      m2N: [m2N],
      comoment,
    };
  }

  const third = { x: [[2, 5], [1, 1], [6, 3], [3, 4]], n: [0.7, 0.2, 0.8, 0.6] };

  test("after three stages with λ = 0.6 the state is the weighted one with weights λ², λ, 1", () => {
    for (const decay of [0.6, 0.25]) {
      const accumulator = new CorrelationAccumulator();
      let merge = stageOf(accumulator, first, decay);
      merge.commit();
      merge = stageOf(accumulator, second, decay);
      merge.commit();
      merge = stageOf(accumulator, third, decay);
      const expected = weighted([first, second, third], [decay ** 2, decay, 1]);
      const close = (a: number, e: number, what: string) =>
        assert.ok(
          Math.abs(a - e) <= 1e-12 * Math.max(1, Math.abs(e)),
          `λ ${decay} ${what}: ${a} vs ${e}`,
        );
      close(merge.moments.count, expected.count, "Σw");
      close(merge.effectiveCount, expected.effectiveCount, "(Σw)²/Σw²");
      for (const key of ["meanX", "meanN", "m2X", "m2N", "comoment"] as const) {
        Array.from(merge.moments[key]).forEach((v, i) =>
          close(v, expected[key][i]!, `${key}[${i}]`)
        );
      }
      merge.commit();
      close(accumulator.effectiveCount, expected.effectiveCount, "committed (Σw)²/Σw²");
    }
  });

  test("a decay of 1 is no decay: the stages give update's state bit for bit", () => {
    const decayed = new CorrelationAccumulator();
    for (const batch of [first, second, third]) stageOf(decayed, batch, 1).commit();
    const plain = new CorrelationAccumulator().update(first.x, first.n).update(second.x, second.n)
      .update(third.x, third.n);
    assert.deepEqual(decayed.toBytes(), plain.toBytes());
  });
});
