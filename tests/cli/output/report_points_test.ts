import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ReportPoints, type SeriesKey } from "../../../src/cli/output/report_points.ts";
import type { ReportPoint } from "../../../src/cli/output/report_data.ts";
import { mulberry32 } from "../../../src/cli/input/mulberry32.ts";
import fc from "fast-check";
import { RUNS, SEED } from "../../fuzz_support.ts";

/** Random points: losses with skipped (NaN) batches, an optional window, alerts at random. */
export function randomPoints(count: number, seed: number): ReportPoint[] {
  const uniform = mulberry32(seed);
  return Array.from({ length: count }, (_, index) => {
    const skipped = uniform() < 0.05;
    return {
      index,
      firstLine: 2 + 10 * index,
      loss: skipped ? Number.NaN : uniform() * 2 - 0.5,
      running: uniform(),
      window: uniform() < 0.5 ? undefined : uniform(),
      alert: uniform() < 0.01,
    };
  });
}

/**
 * Checks a record against the points it was made of, by brute force: the
 * buckets tile the batches in order, and each keeps the exact count, alerts,
 * first alert, and per series the first, last, smallest and largest value.
 */
export function assertSummarises(record: ReportPoints, points: readonly ReportPoint[]): void {
  assert.equal(record.count, points.length);
  assert.equal(record.alerts, points.filter((p) => p.alert).length);
  assert.equal(record.firstAlert, points.find((p) => p.alert));
  assert.equal(record.last, points.at(-1));
  let next = 0;
  for (const bucket of record.buckets()) {
    const inside = points.slice(next, next + bucket.count);
    assert.equal(bucket.firstIndex, inside[0]!.index);
    assert.equal(bucket.lastIndex, inside.at(-1)!.index);
    assert.equal(bucket.firstLine, inside[0]!.firstLine);
    assert.equal(bucket.alerts, inside.filter((p) => p.alert).length);
    assert.equal(bucket.firstAlert, inside.find((p) => p.alert));
    for (const key of ["loss", "running", "window"] as SeriesKey[]) {
      const finite = inside.filter((p) => p[key] !== undefined && Number.isFinite(p[key]));
      const series = bucket.series[key];
      assert.equal(series.gap, finite.length < inside.length, key);
      if (finite.length === 0) {
        assert.deepEqual([series.first, series.min, series.max, series.last], [
          undefined,
          undefined,
          undefined,
          undefined,
        ]);
        continue;
      }
      const values = finite.map((p) => p[key] as number);
      let low = 0, high = 0;
      values.forEach((v, i) => {
        if (v < values[low]!) low = i;
        if (v > values[high]!) high = i;
      });
      assert.deepEqual(series.first, { index: finite[0]!.index, value: values[0] }, key);
      assert.deepEqual(series.last, { index: finite.at(-1)!.index, value: values.at(-1) }, key);
      assert.deepEqual(series.min, { index: finite[low]!.index, value: values[low] }, key);
      assert.deepEqual(series.max, { index: finite[high]!.index, value: values[high] }, key);
    }
    next += bucket.count;
  }
  assert.equal(next, points.length);
}

describe("ReportPoints", () => {
  test("keeps every point while there are at most `exact` of them", () => {
    const points = randomPoints(2048, 1);
    const record = ReportPoints.of(points);
    assert.deepEqual(record.exact, points);
    assert.equal(record.buckets().length, 2048);
    assertSummarises(record, points);
  });

  test("past `exact`, at most maxBuckets buckets summarise the batches exactly", () => {
    for (
      const [count, exact, maxBuckets] of [[2049, 2048, 1024], [10_000, 100, 64], [777, 10, 7], [
        5000,
        0,
        2,
      ]]
    ) {
      const points = randomPoints(count!, count!);
      const record = ReportPoints.of(points, { exact: exact!, maxBuckets: maxBuckets! });
      assert.equal(record.exact, undefined);
      assert.ok(record.buckets().length <= maxBuckets!, `${record.buckets().length} buckets`);
      assert.ok(record.buckets().length > maxBuckets! / 4, `${record.buckets().length} buckets`);
      assertSummarises(record, points);
    }
  });

  test("holds a bounded number of buckets however many batches arrive", () => {
    const record = new ReportPoints({ exact: 16, maxBuckets: 32 });
    for (let i = 0; i < 200_000; i++) {
      record.add({
        index: i,
        firstLine: i + 2,
        loss: i,
        running: 1 - i,
        window: undefined,
        alert: i === 199_999,
      });
      assert.ok(record.buckets().length <= 32);
    }
    const buckets = record.buckets();
    assert.equal(buckets.at(-1)!.series.loss.max!.value, 199_999);
    assert.equal(buckets[0]!.series.running.max!.value, 1);
    assert.equal(record.firstAlert!.index, 199_999);
  });

  test("any number of points, any exact limit and bucket count: the buckets summarise the points exactly (property)", () => {
    fc.assert(
      fc.property(
        fc.nat(3000),
        fc.nat(64),
        fc.integer({ min: 2, max: 48 }),
        fc.integer(),
        (count, exact, maxBuckets, seed) => {
          const points = randomPoints(count, seed);
          const record = ReportPoints.of(points, { exact, maxBuckets });
          if (count <= exact) assert.deepEqual(record.exact, points);
          else assert.ok(record.buckets().length <= maxBuckets);
          assertSummarises(record, points);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
