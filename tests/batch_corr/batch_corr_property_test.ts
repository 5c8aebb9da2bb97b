/**
 * Property-based tests of the core entry points: batchCorr, qcfc, autoTol and
 * the losses, on random ranks, shapes, dtypes, magnitudes and option objects.
 * The property: a result that agrees with a slow, obviously-correct reference,
 * or a documented error type whose message names the argument.
 *
 * Fixed seeds keep CI reproducible; set BATCHCORR_FUZZ_RUNS for a longer run.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import fc from "fast-check";
import { autoTol, batchCorr, BatchCorrelationLoss, batchCorrFloat32, qcfc } from "../../mod.ts";
import {
  assertClose,
  offsetColumns,
  offsetColumnsArbitrary,
  shiftedPearson,
} from "../fuzz_support.ts";

const RUNS = Number(process.env.BATCHCORR_FUZZ_RUNS ?? 150);
const SEED = 20261128;

interface Case {
  shape: number[];
  x: number[];
  n: number[];
  confounds: number;
  vectorN: boolean;
  float32: boolean;
}

/** Values k·scale + offset with small integers k: exact enough that r is well defined. */
const magnitude = fc.constantFrom(5e-324, 1e-300, 1e-150, 1e-9, 1, 1e3, 1e9, 1e150, 1e200, 1e300);

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    batch: fc.integer({ min: 1, max: 24 }),
    trailing: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 }),
    confounds: fc.integer({ min: 1, max: 3 }),
    vectorN: fc.boolean(),
    float32: fc.boolean(),
    scale: magnitude,
    offsetSteps: fc.constantFrom(0, 0, 1000),
    seed: fc.integer(),
    constantColumns: fc.boolean(),
  })
  .map(
    (
      { batch, trailing, confounds, vectorN, float32, scale, offsetSteps, seed, constantColumns },
    ) => {
      let state = seed | 0;
      const nextInt = (): number => {
        state = (Math.imul(state, 1103515245) + 12345) | 0;
        return ((state >>> 16) % 11) - 5;
      };
      const features = trailing.reduce((a, b) => a * b, 1);
      const x: number[] = [];
      for (let b = 0; b < batch; b++) {
        for (let f = 0; f < features; f++) {
          const k = constantColumns && f % 2 === 0 ? 3 : nextInt();
          x.push(k * scale + offsetSteps * scale);
        }
      }
      const m = vectorN ? 1 : confounds;
      const n: number[] = [];
      for (let i = 0; i < m * batch; i++) {
        n.push(nextInt() + (constantColumns && i < batch ? 0 : 0));
      }
      return { shape: [batch, ...trailing], x, n, confounds: m, vectorN, float32 };
    },
  );

/** hypercoil's batch_corr written out with explicit index arithmetic. */
function referenceCorrelations(c: Case, x: ArrayLike<number>): number[] {
  const [B, ...trailing] = c.shape as [number, ...number[]];
  const F = trailing.reduce((a, b) => a * b, 1);
  const strides = trailing.map((_, axis) => trailing.slice(axis + 1).reduce((a, b) => a * b, 1));
  const out: number[] = [];
  for (let f = 0; f < F; f++) {
    // Feature f of X.swapaxes(0, -1).reshape(-1, B): last axis slowest, then d1..d(k-1).
    const index: number[] = new Array(trailing.length).fill(0);
    let rest = f;
    if (trailing.length > 0) {
      const inner = trailing.slice(0, -1).reduce((a, b) => a * b, 1);
      index[trailing.length - 1] = Math.floor(rest / inner);
      rest %= inner;
      for (let axis = trailing.length - 2; axis >= 0; axis--) {
        index[axis] = rest % trailing[axis]!;
        rest = Math.floor(rest / trailing[axis]!);
      }
    }
    const offset = index.reduce((sum, i, axis) => sum + i * strides[axis]!, 0);
    const column = Array.from({ length: B }, (_, b) => x[b * F + offset]!);
    for (let m = 0; m < c.confounds; m++) {
      const confound = c.n.slice(m * B, (m + 1) * B);
      out.push(pearsonOrZero(column, confound));
    }
  }
  return out;
}

function pearsonOrZero(unscaledA: number[], unscaledB: number[]): number {
  const constant = (v: number[]) => v.every((value) => value === v[0]);
  if (constant(unscaledA) || constant(unscaledB)) return 0;
  // Correlation is scale-invariant: scale to at most 1 so squares cannot overflow.
  const toUnit = (v: number[]) => {
    const largest = Math.max(...v.map(Math.abs));
    return v.map((value) => value / largest);
  };
  const a = toUnit(unscaledA), b = toUnit(unscaledB);
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  const denominator = Math.sqrt(saa) * Math.sqrt(sbb);
  return denominator === 0 ? 0 : sab / denominator;
}

function isDocumentedError(error: unknown): boolean {
  return (error instanceof TypeError || error instanceof RangeError) &&
    /^Cannot [a-z]/.test(error.message) &&
    /must/.test(error.message);
}

describe("property: batchCorr()", () => {
  test("agrees with an index-by-index reference or throws a documented error", () => {
    fc.assert(
      fc.property(
        caseArbitrary,
        fc.constantFrom<number | "auto">(0, 0.05, 0.3, "auto"),
        fc.boolean(),
        (c, tol, abs) => {
          // Float32 input only where the values are representable in float32.
          const fitsFloat32 = c.x.every((v) => Math.abs(v) < 1e30);
          const data = c.float32 && fitsFloat32 ? Float32Array.from(c.x) : Float64Array.from(c.x);
          const X = { data, shape: c.shape };
          const N = c.vectorN
            ? { data: c.n, shape: [c.shape[0]!] }
            : { data: c.n, shape: [c.confounds, c.shape[0]!] };
          let result;
          try {
            result = batchCorr(X, N, { tol, abs });
          } catch (error) {
            assert.ok(isDocumentedError(error), `undocumented error: ${error}`);
            const B = c.shape[0]!;
            const allowed = tol === "auto" && B < 3;
            assert.ok(allowed, `unexpected error for a valid case: ${(error as Error).message}`);
            return;
          }
          const raw = referenceCorrelations(c, data);
          const tolValue = tol === "auto" ? autoTol(c.shape[0]!) : tol;
          assert.deepEqual(result.shape, [raw.length / c.confounds, c.confounds]);
          for (let i = 0; i < raw.length; i++) {
            const shrunk = Math.max(Math.abs(raw[i]!) - tolValue, 0);
            const expected = abs ? shrunk : Math.sign(raw[i]!) * shrunk;
            assert.ok(Number.isFinite(result.data[i]!), "a valid result holds no NaN or Infinity");
            assert.ok(
              Math.abs(result.data[i]! - expected) < 1e-9,
              `element ${i}: ${result.data[i]} vs ${expected}`,
            );
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("rejects NaN and ±Infinity anywhere with a RangeError naming the argument", () => {
    fc.assert(
      fc.property(
        caseArbitrary,
        fc.constantFrom(Number.NaN, Infinity, -Infinity),
        fc.boolean(),
        fc.nat(),
        (c, poison, inX, position) => {
          const x = c.x.slice();
          const n = c.n.slice();
          if (inX) x[position % x.length] = poison;
          else n[position % n.length] = poison;
          const X = { data: Float64Array.from(x), shape: c.shape };
          const N = { data: n, shape: [c.confounds, c.shape[0]!] };
          assert.throws(() => batchCorr(X, N), (error: Error) => {
            assert.ok(error instanceof RangeError);
            assert.match(
              error.message,
              inX ? /every element of X must be finite/ : /every element of N must be finite/,
            );
            return true;
          });
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("rejects malformed option objects with TypeError or RangeError naming the option", () => {
    const badValue = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.string({ maxLength: 4 }),
      fc.double(),
      fc.boolean(),
      fc.constant({}),
      fc.constant([]),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom("tol", "tolSig", "abs", "zeroVariance", "extra", "__proto__", "TOL"),
          badValue,
          {
            maxKeys: 3,
          },
        ),
        (options) => {
          const X = { data: new Float64Array([1, 2, 3, 5, 4, 6, 7, 9]), shape: [4, 2] };
          try {
            const result = batchCorr(X, [1, 3, 2, 4], options as object);
            for (const v of result.data) {
              assert.ok(Number.isFinite(v) || options.zeroVariance === "nan");
            }
          } catch (error) {
            assert.ok(error instanceof TypeError || error instanceof RangeError, String(error));
            assert.match((error as Error).message, /^Cannot compute batchCorr as options/);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("qcfc() equals batchCorr() on every valid case", () => {
    fc.assert(
      fc.property(caseArbitrary.filter((c) => c.shape[0]! >= 3), (c) => {
        const X = { data: Float64Array.from(c.x), shape: c.shape };
        const N = { data: c.n, shape: [c.confounds, c.shape[0]!] };
        assert.deepEqual(qcfc(X, N, { tol: "auto" }).data, batchCorr(X, N, { tol: "auto" }).data);
      }),
      { numRuns: Math.ceil(RUNS / 3), seed: SEED },
    );
  });
});

describe("property: autoTol()", () => {
  test("lies in (0, 1) and falls as the batch grows or the significance loosens", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 10_000_000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 1e-8, max: 0.999, noNaN: true }),
        (batch, extra, significance) => {
          const tol = autoTol(batch, significance);
          assert.ok(tol > 0 && tol < 1);
          assert.ok(autoTol(batch + extra, significance) < tol);
          assert.ok(autoTol(batch, Math.min(0.9999, significance * 1.5)) <= tol);
          // One tail puts the quantile at 1 − significance, below the two-tailed one
          // while significance < 0.5 (above that the t value turns negative).
          if (significance < 0.5) assert.ok(autoTol(batch, significance, 1) <= tol * (1 + 1e-12));
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("rejects any non-integer, small or non-numeric batch size", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ max: 2.999 }),
          fc.double().filter((v) => !Number.isInteger(v)),
          fc.string(),
          fc.constant(null),
        ),
        (batch) => {
          assert.throws(() => autoTol(batch as number), (error: Error) => {
            assert.ok(error instanceof TypeError || error instanceof RangeError);
            assert.match(error.message, /^Cannot compute autoTol as batchSize must be/);
            return true;
          });
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe("property: BatchCorrelationLoss", () => {
  test("evaluates nu · scalarisation(batchCorr) and is finite on valid input", () => {
    fc.assert(
      fc.property(
        caseArbitrary.filter((c) => c.shape[0]! >= 3),
        fc.constantFrom("sum", "mean", "meansq", "max", "vnorm"),
        fc.double({ min: -10, max: 10, noNaN: true }),
        (c, scalarisation, nu) => {
          const X = { data: Float64Array.from(c.x), shape: c.shape };
          const N = { data: c.n, shape: [c.confounds, c.shape[0]!] };
          const values = batchCorr(X, N, { tol: "auto" }).data;
          const loss = new BatchCorrelationLoss({
            nu,
            tol: "auto",
            scalarisation: scalarisation as "mean",
          });
          const value = loss.evaluate(X, N);
          assert.ok(Number.isFinite(value));
          const plain = Array.from(values);
          const reduced = {
            sum: plain.reduce((s, v) => s + v, 0),
            mean: plain.reduce((s, v) => s + v, 0) / plain.length,
            meansq: plain.reduce((s, v) => s + v * v, 0) / plain.length,
            max: Math.max(...plain),
            vnorm: Math.hypot(...plain),
          }[scalarisation]!;
          assert.ok(Math.abs(value - nu * reduced) <= 1e-12 * Math.max(1, Math.abs(nu * reduced)));
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe("property: batchCorrFloat32() on columns far from zero", () => {
  test("stays within 1e-6 of a float64 reference for base/spread up to 1e8, both signs, float32 or float64 input", () => {
    fc.assert(
      fc.property(offsetColumnsArbitrary, fc.constantFrom<number | "auto">(0, 0.1), (plan, tol) => {
        const c = offsetColumns(plan);
        const X = { data: c.x, shape: [c.B, c.F] }, N = { data: c.n, shape: [c.M, c.B] };
        const result = batchCorrFloat32(X, N, { abs: false, tol });
        const tolValue = tol === "auto" ? autoTol(c.B) : tol;
        const expected = shiftedPearson(c.x, c.n, c.B, c.F, c.M).map((r) =>
          Math.sign(r) * Math.max(Math.abs(r) - tolValue, 0)
        );
        assertClose(result.data, expected, 1e-6, `ratios ${c.ratios.slice(0, 4)}`);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
