/**
 * Property-based tests of BatchCorrelationLoss.valueAndGrad: its value is
 * evaluate's, its gradients have X's and N's shapes and are finite whenever
 * the value is, and bad options fail as documented.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BatchCorrelationLoss } from "../../mod.ts";
import {
  assertNoPollution,
  isDocumentedError,
  makeBatches,
  planArbitrary,
  RUNS,
  SEED,
} from "../fuzz_support.ts";

const lossOptions = fc.record({
  nu: fc.double({ min: -5, max: 5, noNaN: true }),
  tol: fc.constantFrom<number | "auto">(0, 0.1, 0.5, "auto"),
  abs: fc.boolean(),
  zeroVariance: fc.constantFrom<"zero" | "nan">("zero", "zero", "nan"),
  scalarisation: fc.constantFrom<"sum" | "mean" | "meansq" | "max" | "vnorm">(
    "sum",
    "mean",
    "meansq",
    "max",
    "vnorm",
  ),
});

function outcome(run: () => number): { value: number } | { error: Error } {
  try {
    return { value: run() };
  } catch (error) {
    return { error: error as Error };
  }
}

describe("property: BatchCorrelationLoss.valueAndGrad()", () => {
  test("value equals evaluate, gradients match the shapes and are finite whenever the value is", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        planArbitrary(1),
        lossOptions,
        fc.constantFrom<"X" | "both">("X", "both"),
        (featureShape, M, vectorN, plan, options, wrt) => {
          const [batch] = makeBatches(plan, featureShape, vectorN ? 1 : M);
          const X = batch!.x;
          const N = vectorN ? { data: batch!.n.data, shape: [batch!.x.shape[0]!] } : batch!.n;
          const loss = new BatchCorrelationLoss(options);
          const evaluated = outcome(() => loss.evaluate(X, N));
          let result;
          try {
            result = loss.valueAndGrad(X, N, { wrt });
          } catch (error) {
            assert.ok(
              isDocumentedError(error, /^Cannot compute valueAndGrad of BatchCorrelation as/),
              String(error),
            );
            if ("value" in evaluated) {
              // Only a gradient beyond float64's range may fail where the value does not.
              assert.match(
                (error as Error).message,
                /gradient with respect to (X|N) must be finite/,
              );
              assert.ok(plan.scale < 1e-290, `gradient overflow at scale ${plan.scale}`);
            } else {
              assert.equal((error as Error).constructor, evaluated.error.constructor);
            }
            return;
          }
          assert.ok(
            "value" in evaluated,
            `evaluate threw but valueAndGrad did not: ${"error" in evaluated && evaluated.error}`,
          );
          assert.ok(
            Object.is(result.value, evaluated.value),
            `${result.value} vs ${evaluated.value}`,
          );
          assert.deepEqual(result.grad.shape, X.shape);
          assert.equal(result.grad.data.length, X.data.length);
          if (wrt === "both") {
            assert.deepEqual(result.gradN!.shape, N.shape);
            assert.equal(result.gradN!.data.length, N.data.length);
          } else {
            assert.equal(result.gradN, undefined);
          }
          if (Number.isFinite(result.value)) {
            for (const g of result.grad.data) {
              assert.ok(Number.isFinite(g), `gradient ${g} for a finite value`);
            }
            for (const g of result.gradN?.data ?? []) {
              assert.ok(Number.isFinite(g), `gradN ${g} for a finite value`);
            }
          } else {
            // Only hypercoil's NaN policy may make the value undefined.
            assert.equal(options.zeroVariance, "nan");
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("random option objects for the loss and for valueAndGrad are accepted or refused naming the option", () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.double(),
      fc.string({ maxLength: 4 }),
      fc.boolean(),
      fc.constant({}),
      fc.constantFrom("X", "both", "auto", "mean", "nan"),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            "nu",
            "tol",
            "tolSig",
            "abs",
            "zeroVariance",
            "scalarisation",
            "name",
            "maxElements",
            "extra",
            "__proto__",
          ),
          value,
          { maxKeys: 3 },
        ),
        fc.dictionary(fc.constantFrom("wrt", "WRT", "tol", "__proto__", "constructor"), value, {
          maxKeys: 2,
        }),
        (constructorOptions, callOptions) => {
          let loss: BatchCorrelationLoss;
          try {
            loss = new BatchCorrelationLoss(constructorOptions as never);
          } catch (error) {
            assert.ok(
              isDocumentedError(error, /^Cannot create BatchCorrelationLoss as options/),
              String(error),
            );
            return;
          }
          const X = { data: new Float64Array([1, 2, 3, 5, 4, 6, 7, 9, 2, 0]), shape: [5, 2] };
          try {
            const { value: v, grad } = loss.valueAndGrad(X, [1, 3, 2, 4, 0], callOptions as never);
            assert.equal(grad.data.length, 10);
            assert.ok(!Number.isNaN(v) || loss.options.zeroVariance === "nan");
          } catch (error) {
            assert.ok(
              isDocumentedError(
                error,
                /^Cannot compute valueAndGrad of .* as (options|the batch size|F·M)/,
              ),
              String(error),
            );
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    assertNoPollution();
  });
});
