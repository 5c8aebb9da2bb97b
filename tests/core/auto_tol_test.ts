import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { autoTol } from "../../mod.ts";
import { autoTolUnchecked } from "../../src/core/auto_tol.ts";
import { type AutoTolFixtures, type AutoTolTinyFixtures, readFixture } from "../fixture_loader.ts";

// hypercoil's formula with the t quantile from scipy.stats.t.ppf and to 40
// digits with mpmath, from scripts/gen_fixtures.py.
const grid = readFixture<AutoTolFixtures>("auto_tol.json");
// Upper tails below the float64 level's resolution, to 80 digits (scripts/gen_fixtures.py auto_tol_tiny).
const tiny = readFixture<AutoTolTinyFixtures>("auto_tol_tiny.json");
// Random points off the grid: batch sizes up to 1e10, half fractional (scripts/gen_fixtures.py auto_tol_wide).
const wide = readFixture<AutoTolFixtures>("auto_tol_wide.json");

function relativeError(got: number, expected: number): number {
  return expected === 0 ? (got === 0 ? 0 : Infinity) : Math.abs(got - expected) / expected;
}

describe("autoTol()", () => {
  test("the grid spans B in [3, 1e7], significance in [1e-8, 0.999] and 1 and 2 tails", () => {
    const sizes = grid.entries.map(([B]) => B);
    const levels = grid.entries.map(([, significance]) => significance);
    assert.equal(Math.min(...sizes), 3);
    assert.equal(Math.max(...sizes), 1e7);
    assert.equal(Math.min(...levels), 1e-8);
    assert.equal(Math.max(...levels), 0.999);
    assert.deepEqual(new Set(grid.entries.map(([, , tails]) => tails)), new Set([1, 2]));
  });

  test("is within 1e-12 relative of the 40-digit value over the whole grid", () => {
    let worst = 0;
    let worstAt = "";
    for (const [B, significance, tails, exact] of grid.entries) {
      const got = autoTol(B, significance, tails);
      const relative = relativeError(got, exact);
      const label = `autoTol(${B}, ${significance}, ${tails})`;
      assert.ok(
        relative <= 1e-12,
        `${label}: got ${got}, exact ${exact} (relative error ${relative})`,
      );
      if (relative > worst) [worst, worstAt] = [relative, label];
    }
    console.log(
      `autoTol: max relative error vs 40 digits ${
        worst.toExponential(2)
      } at ${worstAt} over ${grid.entries.length} points`,
    );
  });

  test("is within 1e-13 relative of the 40-digit value at 300 random points, fractional batch sizes (effective counts) up to 1e10 included", () => {
    let worst = 0;
    for (const [B, significance, tails, exact] of wide.entries) {
      const got = autoTolUnchecked(B, significance, tails);
      const relative = relativeError(got, exact);
      assert.ok(
        relative <= 1e-13,
        `autoTolUnchecked(${B}, ${significance}, ${tails}): got ${got}, exact ${exact}`,
      );
      worst = Math.max(worst, relative);
    }
    assert.ok(
      wide.entries.some(([B]) => B > 1e9) && wide.entries.some(([B]) => !Number.isInteger(B)),
    );
    console.log(
      `autoTol: max relative error vs 40 digits at random points ${worst.toExponential(2)}`,
    );
  });

  test("is within 1e-12 relative of scipy wherever scipy itself is within 1e-12 of the 40-digit value", () => {
    let worst = 0;
    const scipyOff: string[] = [];
    for (const [B, significance, tails, exact, scipy] of grid.entries) {
      const label = `autoTol(${B}, ${significance}, ${tails})`;
      if (relativeError(scipy, exact) > 1e-12) {
        scipyOff.push(`${label} (scipy off by ${relativeError(scipy, exact).toExponential(2)})`);
        continue;
      }
      const relative = relativeError(autoTol(B, significance, tails), scipy);
      assert.ok(relative <= 1e-12, `${label}: scipy ${scipy} (relative error ${relative})`);
      worst = Math.max(worst, relative);
    }
    // scipy 1.17's t.ppf near the median for 4 degrees of freedom: the one known miss.
    assert.ok(scipyOff.length <= 2, scipyOff.join("; "));
    console.log(
      `autoTol: max relative difference from scipy ${worst.toExponential(2)}; scipy itself off at ${
        scipyOff.join(", ")
      }`,
    );
  });

  test("is within 1e-12 relative of the 80-digit value for significance down to 5e-324 (never NaN)", () => {
    let worst = 0;
    for (const [B, significance, tails, exact, scipy] of tiny.entries) {
      const got = autoTol(B, significance, tails);
      const label = `autoTol(${B}, ${significance}, ${tails})`;
      assert.ok(got > 0 && got <= 1, `${label} = ${got}, outside (0, 1]`);
      // From the tail 2^-30 up, autoTol forms hypercoil's float64 level 1 − tail, whose rounding
      // (≤ 2^-54) moves such a tail by up to 6e-8 relative: the bound there is that, not 1e-12.
      const bound = significance / tails < 2 ** -30 ? 1e-12 : 1e-9;
      assert.ok(relativeError(got, exact) <= bound, `${label}: got ${got}, exact ${exact}`);
      if (scipy !== null) {
        assert.ok(relativeError(got, scipy) <= bound, `${label}: got ${got}, scipy isf ${scipy}`);
      }
      if (bound === 1e-12) worst = Math.max(worst, relativeError(got, exact));
    }
    assert.ok(tiny.entries.some(([, significance]) => significance < 1.1e-16));
    console.log(
      `autoTol: max relative error vs 80 digits for tiny tails ${
        worst.toExponential(2)
      } over ${tiny.entries.length} points`,
    );
  });

  test("a significance whose level 1 − significance / 2 rounds to 1 gives the tail's tolerance, not NaN", () => {
    const got = autoTol(10, 1e-16);
    assert.ok(Number.isFinite(got), `autoTol(10, 1e-16) = ${got}`);
    // Where the level rounds to 1 every smaller significance would collapse onto one value; the tail keeps them apart.
    assert.ok(autoTol(10, 1e-20) > got && got > autoTol(10, 1e-12));
  });

  test("the two ways of computing the quantile meet at the switch-over tail 2^-30 within 1e-9 relative", () => {
    for (const B of [3, 4, 10, 1000, 1e7]) {
      for (const tails of [1, 2] as const) {
        const at = 2 ** -30 * tails;
        const above = autoTol(B, at * (1 + 2 ** -40), tails);
        const below = autoTol(B, at * (1 - 2 ** -40), tails);
        assert.ok(below >= above, `autoTol(${B}, ~2^-30·${tails}) must not rise with significance`);
        assert.ok(
          relativeError(below, above) <= 1e-9,
          `B ${B}, tails ${tails}: ${below} vs ${above}`,
        );
      }
    }
  });

  test("gives SPEC section 1's reference values (hypercoil under JAX, float64)", () => {
    const cases: [number, number | undefined, number][] = [
      [20, undefined, 0.3783408610435194],
      [3, undefined, 0.9876883405951377],
      [1_000_000, undefined, 0.0016448545704628797],
      [5, 1e-6, 0.9999114650784537],
    ];
    for (const [B, significance, expected] of cases) {
      const got = significance === undefined ? autoTol(B) : autoTol(B, significance);
      assert.ok(
        Math.abs(got - expected) <= 1e-12 * expected,
        `autoTol(${B}, ${significance}) = ${got}, SPEC says ${expected}`,
      );
    }
    // The fixture carries the same numbers, checked against scipy by the generator.
    assert.deepEqual(grid.spec.map((s) => s.tol), cases.map(([, , tol]) => tol));
  });

  test("batch sizes up to Number.MAX_VALUE reach the normal limit t·√ν, promptly and without NaN", () => {
    const levels: [number, 1 | 2][] = [[0.999, 2], [0.5, 2], [0.1, 2], [0.05, 1], [1e-8, 2], [
      1e-300,
      1,
    ]];
    for (const [significance, tails] of levels) {
      // t·√ν at ν = 1e12, where t is within (t² + 1) / (4ν) of the normal quantile.
      const near = autoTol(1e12 + 2, significance, tails) * Math.sqrt(1e12);
      const started = performance.now();
      for (const B of [1e16, 2 ** 53, 1e20, 1e30, 1e31, 1e100, 1e300, Number.MAX_VALUE]) {
        const tol = autoTol(B, significance, tails);
        assert.ok(tol > 0 && tol < 1, `autoTol(${B}, ${significance}, ${tails}) = ${tol}`);
        const limit = tol * Math.sqrt(B - 2);
        const bound = (near * near + 1) / 4e12 + 1e-14;
        assert.ok(
          Math.abs(limit / near - 1) <= bound,
          `autoTol(${B}, ${significance}, ${tails})·√ν = ${limit}, at ν = 1e12 ${near}`,
        );
      }
      assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
    }
  });

  test("defaults to significance 0.1 and two tails", () => {
    assert.equal(autoTol(37), autoTol(37, 0.1, 2));
    assert.equal(autoTol(37, 0.05), autoTol(37, 0.05, 2));
    assert.ok(autoTol(37, 0.1, 1) < autoTol(37, 0.1, 2));
  });

  const rangeCases: [string, () => number, RegExp][] = [
    [
      "batchSize 2 (no degrees of freedom)",
      () => autoTol(2),
      /^Cannot compute autoTol as batchSize must be an integer of at least 3 .*: current value is 2$/,
    ],
    [
      "batchSize 0",
      () => autoTol(0),
      /^Cannot compute autoTol as batchSize must be an integer of at least 3 .*: current value is 0$/,
    ],
    [
      "batchSize 3.5",
      () => autoTol(3.5),
      /^Cannot compute autoTol as batchSize must be an integer of at least 3 .*: current value is 3\.5$/,
    ],
    [
      "batchSize NaN",
      () => autoTol(Number.NaN),
      /^Cannot compute autoTol as batchSize must be an integer .*: current value is NaN$/,
    ],
    [
      "batchSize Infinity",
      () => autoTol(Infinity),
      /^Cannot compute autoTol as batchSize must be an integer .*: current value is Infinity$/,
    ],
    [
      "significance 0",
      () => autoTol(20, 0),
      /^Cannot compute autoTol as significance must be in the open interval \(0, 1\): current value is 0$/,
    ],
    [
      "significance 1",
      () => autoTol(20, 1),
      /^Cannot compute autoTol as significance must be in the open interval \(0, 1\): current value is 1$/,
    ],
    [
      "significance -0.1",
      () => autoTol(20, -0.1),
      /^Cannot compute autoTol as significance must be .*: current value is -0\.1$/,
    ],
    [
      "significance NaN",
      () => autoTol(20, Number.NaN),
      /^Cannot compute autoTol as significance must be .*: current value is NaN$/,
    ],
    [
      "significance 5e-324 (subnormal)",
      () => autoTol(20, 5e-324),
      /^Cannot compute autoTol as significance must be at least 2\^-1022 .*: current value is 5e-324$/,
    ],
    [
      "tails 3",
      () => autoTol(20, 0.1, 3 as 2),
      /^Cannot compute autoTol as tails must be 1 or 2: current value is 3$/,
    ],
    [
      "tails 0",
      () => autoTol(20, 0.1, 0 as 2),
      /^Cannot compute autoTol as tails must be 1 or 2: current value is 0$/,
    ],
  ];
  for (const [what, call, message] of rangeCases) {
    test(`throws a RangeError naming the argument, the rule and the value for ${what}`, () => {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof RangeError, `expected a RangeError, got ${error}`);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  const typeCases: [string, () => number, RegExp][] = [
    [
      'batchSize "20"',
      () => autoTol("20" as unknown as number),
      /^Cannot compute autoTol as batchSize must be a number: current value is "20"$/,
    ],
    [
      "batchSize null",
      () => autoTol(null as unknown as number),
      /^Cannot compute autoTol as batchSize must be a number: current value is null$/,
    ],
    [
      "batchSize 20n",
      () => autoTol(20n as unknown as number),
      /^Cannot compute autoTol as batchSize must be a number: current value is 20n$/,
    ],
    [
      'significance "0.1"',
      () => autoTol(20, "0.1" as unknown as number),
      /^Cannot compute autoTol as significance must be a number: current value is "0\.1"$/,
    ],
    [
      'tails "2"',
      () => autoTol(20, 0.1, "2" as unknown as 2),
      /^Cannot compute autoTol as tails must be a number \(1 or 2\): current value is "2"$/,
    ],
  ];
  for (const [what, call, message] of typeCases) {
    test(`throws a TypeError naming the argument and the value for ${what}`, () => {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof TypeError, `expected a TypeError, got ${error}`);
        assert.match(error.message, message);
        return true;
      });
    });
  }
});
