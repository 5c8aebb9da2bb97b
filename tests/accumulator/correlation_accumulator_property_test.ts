/**
 * Property-based tests of CorrelationAccumulator (update, merge, snapshot,
 * restore) against the slow reference: batchCorr of every sample at once; and
 * of snapshots as untrusted input (random mutations of valid snapshots).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { batchCorr, BatchCorrError, CorrelationAccumulator } from "../../mod.ts";
import {
  assertClose,
  assertNoPollution,
  concat,
  type DenseBatch,
  isDocumentedError,
  makeBatches,
  planArbitrary,
  RUNS,
  SEED,
} from "../fuzz_support.ts";
import { decayedCorrelations } from "../_weighted_reference.ts";

const shapeArbitrary = fc.record({
  featureShape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  confounds: fc.integer({ min: 1, max: 3 }),
});

/** Feeds batches one by one; a refused batch must be documented and leave the state untouched. */
function feed(accumulator: CorrelationAccumulator, batches: DenseBatch[]): DenseBatch[] {
  const kept: DenseBatch[] = [];
  for (const batch of batches) {
    const before = accumulator.toBytes();
    try {
      accumulator.update(batch.x, batch.n);
      kept.push(batch);
    } catch (error) {
      assert.ok(
        isDocumentedError(error, /^Cannot update CorrelationAccumulator/),
        `undocumented: ${error}`,
      );
      assert.ok(error instanceof RangeError, String(error));
      assert.match((error as Error).message, /float64 range|finite/);
      assert.deepEqual(accumulator.toBytes(), before, "a refused batch changed the state");
    }
  }
  return kept;
}

describe("property: CorrelationAccumulator", () => {
  test("after random batches (B = 1, 2, 3…, ±0, subnormal to 1e300) it equals batchCorr of the kept samples, or refuses with a RangeError", () => {
    fc.assert(
      fc.property(shapeArbitrary, planArbitrary(5), ({ featureShape, confounds }, plan) => {
        const batches = makeBatches(plan, featureShape, confounds);
        const accumulator = new CorrelationAccumulator();
        const kept = feed(accumulator, batches);
        if (kept.length === 0) {
          assert.equal(accumulator.count, 0);
          return;
        }
        const whole = concat(kept);
        assert.equal(accumulator.count, whole.x.shape[0]);
        const reference = batchCorr(whole.x, whole.n, { abs: false });
        const running = accumulator.correlations({ abs: false });
        assert.deepEqual(running.shape, reference.shape);
        assertClose(running.data, reference.data, 1e-9, "running r");
        assert.equal(running.zeroVarianceFeatures, reference.zeroVarianceFeatures);
        assert.equal(running.zeroVarianceConfounds, reference.zeroVarianceConfounds);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("a random split into shards merged back equals one pass; a snapshot taken anywhere resumes identically", () => {
    fc.assert(
      fc.property(
        shapeArbitrary,
        planArbitrary(6),
        fc.nat(),
        fc.boolean(),
        ({ featureShape, confounds }, plan, cut, viaJSON) => {
          const batches = makeBatches({ ...plan, scale: 1 }, featureShape, confounds);
          const onePass = new CorrelationAccumulator();
          const kept = feed(onePass, batches);
          const split = cut % (kept.length + 1);
          const left = new CorrelationAccumulator(), right = new CorrelationAccumulator();
          feed(left, kept.slice(0, split));
          feed(right, kept.slice(split));
          left.merge(right);
          assert.equal(left.count, onePass.count);

          const first = new CorrelationAccumulator();
          feed(first, kept.slice(0, split));
          const restored = viaJSON
            ? CorrelationAccumulator.fromJSON(JSON.stringify(first))
            : CorrelationAccumulator.fromBytes(first.toBytes());
          feed(restored, kept.slice(split));
          if (onePass.count === 0) return;
          const expected = onePass.correlations({ abs: false }).data;
          assertClose(left.correlations({ abs: false }).data, expected, 1e-12, "merged r");
          // Snapshots are exact (bytes) or shortest round-trip decimals (JSON): the same numbers.
          assert.deepEqual(
            Array.from(restored.correlations({ abs: false }).data),
            Array.from(expected),
          );
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("batch states merged one by one with a random decay equal the directly weighted correlations", () => {
    // Thousandths in ±1000: distinct values are far apart, so the reference is well conditioned.
    const value = fc.integer({ min: -1e6, max: 1e6 }).map((v) => v / 1000);
    const batchArbitrary = (F: number, M: number) =>
      fc.integer({ min: 1, max: 8 }).chain((B) =>
        fc.record({
          x: fc.array(value, {
            minLength: B * F,
            maxLength: B * F,
          }),
          n: fc.array(value, {
            minLength: M * B,
            maxLength: M * B,
          }),
        }).map(({ x, n }): DenseBatch => ({
          x: { data: Float64Array.from(x), shape: [B, F] },
          n: { data: Float64Array.from(n), shape: [M, B] },
        }))
      );
    const caseArbitrary = fc.record({
      F: fc.integer({ min: 1, max: 3 }),
      M: fc.integer({ min: 1, max: 3 }),
    }).chain(({ F, M }) =>
      fc.record({
        batches: fc.array(batchArbitrary(F, M), { minLength: 1, maxLength: 6 }),
        decay: fc.oneof(fc.constant(1), fc.double({ min: 1e-6, max: 1, noNaN: true })),
      })
    );
    fc.assert(
      fc.property(caseArbitrary, ({ batches, decay }) => {
        const samples = batches.reduce((total, batch) => total + batch.x.shape[0]!, 0);
        const whole = concat(batches);
        const F = whole.x.shape[1]!, M = whole.n.shape[0]!;
        const varies = (values: ArrayLike<number>, at: (i: number) => number, count: number) =>
          Array.from({ length: count }, (_, i) => values[at(i)]).some((v) => v !== values[at(0)]);
        // The reference needs every column to vary (a constant one is 0/0 there).
        fc.pre(
          Array.from({ length: F }, (_, f) => varies(whole.x.data, (i) => i * F + f, samples))
            .every(Boolean) &&
            Array.from(
              { length: M },
              (_, m) => varies(whole.n.data, (i) => m * samples + i, samples),
            )
              .every(Boolean),
        );
        const decayed = new CorrelationAccumulator();
        for (const batch of batches) {
          decayed.merge(new CorrelationAccumulator().update(batch.x, batch.n), { decay });
        }
        const reference = decayedCorrelations(batches, decay);
        if (decay === 1) assert.equal(decayed.count, samples);
        assertClose(
          decayed.correlations({ abs: false, tol: 0 }).data,
          reference.r,
          1e-9,
          "decayed r",
        );
        assert.ok(Math.abs(decayed.effectiveCount / reference.effectiveCount - 1) <= 1e-9);
      }),
      { numRuns: RUNS * 2, seed: SEED },
    );
  });

  test("random option objects are accepted or refused with TypeError/RangeError naming the option", () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.double(),
      fc.integer({ min: -3, max: 2 ** 40 }),
      fc.string({ maxLength: 3 }),
      fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }),
      fc.constant({}),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom("featureShape", "confounds", "maxElements", "extra", "__proto__"),
          value,
          { maxKeys: 3 },
        ),
        (options) => {
          let accumulator: CorrelationAccumulator;
          try {
            accumulator = new CorrelationAccumulator(options as never);
          } catch (error) {
            assert.ok(
              isDocumentedError(error, /^Cannot create CorrelationAccumulator as (options|F·M)/),
              String(error),
            );
            return;
          }
          // Whatever it accepted, it can be snapshotted and restored.
          const again = CorrelationAccumulator.fromBytes(accumulator.toBytes(), {
            maxElements: 2 ** 53 - 1,
          });
          assert.deepEqual(again.featureShape, accumulator.featureShape);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    assertNoPollution();
  });
});

/** A valid snapshot of a small random accumulator. */
const snapshotArbitrary = fc.tuple(shapeArbitrary, planArbitrary(3)).map(
  ([{ featureShape, confounds }, plan]) => {
    const accumulator = new CorrelationAccumulator();
    feed(accumulator, makeBatches({ ...plan, scale: 1 }, featureShape, confounds));
    return accumulator;
  },
);

/** The restore either fails as documented or gives a usable, self-consistent state. */
function checkRestore(restore: () => CorrelationAccumulator): "restored" | "refused" {
  let accumulator: CorrelationAccumulator;
  try {
    accumulator = restore();
  } catch (error) {
    assert.ok(error instanceof BatchCorrError, `not a BatchCorrError: ${error}`);
    assert.ok(error.code === "invalid_snapshot" || error.code === "resource_limit", error.code);
    assert.match(error.message, /^Cannot (restore|create)/);
    return "refused";
  } finally {
    assertNoPollution();
  }
  assert.deepEqual(
    CorrelationAccumulator.fromBytes(accumulator.toBytes()).toBytes(),
    accumulator.toBytes(),
  );
  if (accumulator.count > 0) {
    for (const r of accumulator.correlations({ abs: false }).data) {
      assert.ok(Number.isFinite(r) && Math.abs(r) <= 1 + 1e-9, `restored correlation ${r}`);
    }
  }
  return "restored";
}

const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0, 1e308, 2 ** 32, 0.5, "1", null, [], {}),
  fc.constant({ __proto__: null, polluted: true }),
);

describe("property: snapshots are untrusted input", () => {
  test("byte flips, truncation and extension of binary snapshots are refused as invalid_snapshot or restore a valid state", () => {
    fc.assert(
      fc.property(
        snapshotArbitrary,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom("flip", "truncate", "extend"),
        fc.nat(),
        (accumulator, flips, how, cut) => {
          const bytes = accumulator.toBytes();
          let mutated: Uint8Array;
          if (how === "truncate") mutated = bytes.slice(0, cut % bytes.length);
          else if (how === "extend") {
            mutated = new Uint8Array([
              ...bytes,
              ...flips.map(([, v]) => v),
            ]);
          } else {
            mutated = bytes.slice();
            for (const [position, value] of flips) mutated[position % mutated.length] = value;
          }
          const outcome = checkRestore(() => CorrelationAccumulator.fromBytes(mutated));
          if (how !== "flip") assert.equal(outcome, "refused");
        },
      ),
      { numRuns: RUNS * 2, seed: SEED },
    );
  });

  test("key deletions, extra or prototype keys and replaced values in JSON snapshots are refused or restore a valid state", () => {
    fc.assert(
      fc.property(
        snapshotArbitrary,
        fc.constantFrom("delete", "add", "replace", "replaceElement", "text"),
        fc.constantFrom(
          "format",
          "version",
          "featureShape",
          "confounds",
          "count",
          "weightSquares",
          "meanX",
          "meanN",
          "meanXLo",
          "meanNLo",
          "m2X",
          "m2N",
          "comoment",
          "__proto__",
          "constructor",
          "prototype",
          "polluted",
        ),
        jsonValue,
        fc.nat(),
        (accumulator, how, key, value, position) => {
          const snapshot = JSON.parse(JSON.stringify(accumulator)) as Record<string, unknown>;
          let input: unknown = snapshot;
          if (how === "delete") delete snapshot[key];
          else if (how === "add" || how === "replace") {
            Object.defineProperty(snapshot, key, {
              value,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else if (how === "replaceElement") {
            const array = snapshot[key];
            if (Array.isArray(array) && array.length > 0) array[position % array.length] = value;
          } else {
            // Text-level: a key injected at the top level, or the text cut short.
            const text = JSON.stringify(snapshot);
            input = position % 2 === 0
              ? text.replace("{", `{${JSON.stringify(key)}:${JSON.stringify(value) ?? "null"},`)
              : text.slice(0, position % text.length);
          }
          checkRestore(() => CorrelationAccumulator.fromJSON(input));
        },
      ),
      { numRuns: RUNS * 2, seed: SEED },
    );
  });
});
