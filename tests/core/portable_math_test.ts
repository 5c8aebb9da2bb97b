/**
 * The engine-independent log, log1p and exp behind autoTol, against the
 * runtime's own Math functions (within 2 ulps) on random arguments over their
 * whole ranges, and at the edges.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as portable from "../../src/core/_portable_math.ts";
import { RUNS, SEED } from "../fuzz_support.ts";

const PARAMS = { numRuns: RUNS * 100, seed: SEED };
const BITS = new DataView(new ArrayBuffer(16));

/** How many float64 steps lie between two numbers of the same sign. */
function ulpsApart(a: number, b: number): number {
  if (a === b) return 0;
  BITS.setFloat64(0, a);
  BITS.setFloat64(8, b);
  return Math.abs(Number(BITS.getBigInt64(0) - BITS.getBigInt64(8)));
}

function within(name: string, got: number, expected: number, x: number, ulps = 2): void {
  assert.ok(
    ulpsApart(got, expected) <= ulps,
    `${name}(${x}) = ${got}, Math gives ${expected} (${ulpsApart(got, expected)} ulps apart)`,
  );
}

const positive = fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true });
const nearOne = fc.double({ min: 0.5, max: 2, noNaN: true });

describe("portable log, log1p and exp", () => {
  test("log is within 2 ulps of Math.log from the smallest subnormal to the largest number", () => {
    fc.assert(
      fc.property(
        fc.oneof(positive, nearOne),
        (x) => within("log", portable.log(x), Math.log(x), x),
      ),
      PARAMS,
    );
  });

  test("log1p is within 2 ulps of Math.log1p, tiny arguments included", () => {
    const tiny = fc.double({ min: -1e-3, max: 1e-3, noNaN: true });
    const above = fc.double({ min: -1, max: 1e300, noNaN: true, minExcluded: true });
    fc.assert(
      fc.property(
        fc.oneof(tiny, above, nearOne),
        (x) => within("log1p", portable.log1p(x), Math.log1p(x), x),
      ),
      PARAMS,
    );
  });

  test("exp is within 2 ulps of Math.exp, subnormal results and results near overflow included", () => {
    fc.assert(
      fc.property(fc.double({ min: -745, max: 709.78, noNaN: true }), (x) => {
        const expected = Math.exp(x);
        // Below 2^-1022 the result keeps fewer bits; 2 steps of the subnormal grid, as elsewhere.
        within("exp", portable.exp(x), expected, x);
      }),
      PARAMS,
    );
  });

  test("the edges: zero, −1, infinities and NaN give what Math gives", () => {
    for (
      const [got, expected] of [
        [portable.log(0), -Infinity],
        [portable.log(-1), NaN],
        [portable.log(Infinity), Infinity],
        [portable.log(NaN), NaN],
        [portable.log(1), 0],
        [portable.log1p(-1), -Infinity],
        [portable.log1p(-2), NaN],
        [portable.log1p(Infinity), Infinity],
        [portable.log1p(0), 0],
        [portable.exp(-Infinity), 0],
        [portable.exp(Infinity), Infinity],
        [portable.exp(NaN), NaN],
        [portable.exp(0), 1],
        [portable.exp(710), Infinity],
        [portable.exp(-746), 0],
      ] as const
    ) {
      assert.ok(Object.is(got, expected), `${got} vs ${expected}`);
    }
  });
});
