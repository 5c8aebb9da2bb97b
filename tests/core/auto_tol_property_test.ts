/**
 * Property tests of `autoTol` against closed forms that share nothing with its
 * incomplete-beta inversion: for ν = B − 2 of 1, 2 and 4 the two-sided t tail
 * has elementary inverses (`cos(πp/2)`, `1 − p`, and a cubic), and everywhere
 * the tolerance falls as the batch or the significance grows.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { autoTol } from "../../mod.ts";
import { autoTolUnchecked } from "../../src/core/auto_tol.ts";
import { RUNS, SEED } from "../fuzz_support.ts";

const PARAMS = { numRuns: RUNS * 20, seed: SEED };
const ULP_1 = 2 ** -52;

/** The two-sided tail mass autoTol inverts: hypercoil's float64 level 1 − q from 2⁻³⁰ up, else 2q. */
function twoSided(significance: number, tails: 1 | 2): number {
  const tail = significance / tails;
  if (tail < 2 ** -30) return 2 * tail;
  const level = 1 - tail;
  return 2 * Math.min(level, 1 - level);
}

const significance = fc.double({ min: 2 ** -1022, max: 0.999, noNaN: true }).filter((s) => s > 0);
const logSignificance = fc.double({ min: -300, max: Math.log10(0.999), noNaN: true }).map((e) =>
  10 ** e
);
const level = fc.oneof(significance, logSignificance);
const tails = fc.constantFrom(1 as const, 2 as const);

function relative(got: number, expected: number): number {
  return expected === 0 ? Math.abs(got) : Math.abs(got - expected) / expected;
}

describe("autoTol() against closed forms", () => {
  test("with one degree of freedom (B = 3, Cauchy) it is cos(π·p/2) of the two-sided tail p", () => {
    fc.assert(
      fc.property(level, tails, (s, k) => {
        const p = twoSided(s, k);
        const expected = p <= 0.5 ? Math.cos(Math.PI * p / 2) : Math.sin(Math.PI * (1 - p) / 2);
        const got = autoTol(3, s, k);
        assert.ok(
          relative(got, expected) <= 1e-14,
          `autoTol(3, ${s}, ${k}) = ${got}, cos form ${expected}`,
        );
      }),
      PARAMS,
    );
  });

  test("with two degrees of freedom (B = 4) it is 1 − p", () => {
    fc.assert(
      fc.property(level, tails, (s, k) => {
        const expected = 1 - twoSided(s, k);
        const got = autoTol(4, s, k);
        assert.ok(
          relative(got, expected) <= 1e-14,
          `autoTol(4, ${s}, ${k}) = ${got}, 1 − p = ${expected}`,
        );
      }),
      PARAMS,
    );
  });

  test("with four degrees of freedom (B = 6) its tolerance s gives back p = (1 − s)²(2 + s) / 2", () => {
    fc.assert(
      fc.property(level, tails, (s, k) => {
        const p = twoSided(s, k);
        const tol = autoTol(6, s, k);
        const back = (1 - tol) ** 2 * (2 + tol) / 2;
        // 1 − tol keeps only ulp(1) / (1 − tol) of its digits where tol is near 1.
        const bound = 1e-13 + 6 * ULP_1 / Math.max(1 - tol, ULP_1);
        assert.ok(
          relative(back, p) <= bound,
          `autoTol(6, ${s}, ${k}) = ${tol}: p ${p}, back ${back}`,
        );
      }),
      PARAMS,
    );
  });
});

describe("autoTol() is monotone", () => {
  const size = fc.double({ min: Math.log10(3), max: 308, noNaN: true }).map((e) => 10 ** e);

  // Fractional batch sizes are the effective counts of decayed streams, which reach autoTolUnchecked.
  // "Never larger" up to the 1e-13 the values are good to: two batches 1e-15 apart may tie either way.
  test("a larger batch, fractional or not, never gets a larger tolerance", () => {
    fc.assert(
      fc.property(size, size, level, tails, (b1, b2, s, k) => {
        const [small, large] = b1 <= b2 ? [b1, b2] : [b2, b1];
        assert.ok(
          autoTolUnchecked(small, s, k) >= autoTolUnchecked(large, s, k) * (1 - 1e-13),
          `B ${small} vs ${large}, s ${s}, tails ${k}`,
        );
      }),
      PARAMS,
    );
  });

  test("a larger significance below 1/2 per tail never gets a larger tolerance", () => {
    fc.assert(
      fc.property(size, level, level, tails, (b, s1, s2, k) => {
        const [low, high] = s1 <= s2 ? [s1, s2] : [s2, s1];
        fc.pre(high / k <= 0.5);
        assert.ok(
          autoTolUnchecked(b, low, k) >= autoTolUnchecked(b, high, k) * (1 - 1e-13),
          `B ${b}, s ${low} vs ${high}, tails ${k}`,
        );
      }),
      PARAMS,
    );
  });
});
