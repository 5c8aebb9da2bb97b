/**
 * Property-based tests of correlateBatches: random batch sequences with
 * invalid batches mixed in, onInvalid "error" / "skip", window or decay, and
 * random option objects. Every result agrees with batchCorr of the right
 * samples, or the stream ends with a documented error at the right index.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  batchCorr,
  BatchCorrError,
  type BatchResult,
  correlateBatches,
  type CorrelateBatchesOptions,
} from "../../mod.ts";
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

const FEATURES = [2];
const M = 2;

type Poison = "nan" | "infinity" | "shape" | "confounds" | "notABatch" | "empty" | "tiny" | "huge";
const poisonArbitrary = fc.constantFrom<Poison>(
  "nan",
  "infinity",
  "shape",
  "confounds",
  "notABatch",
  "empty",
  "tiny",
  "huge",
);

function poisoned(kind: Poison, good: DenseBatch): unknown {
  const bad = structuredClone(good);
  const B = good.x.shape[0]!;
  switch (kind) {
    case "nan":
      bad.x.data[0] = Number.NaN;
      return bad;
    case "infinity":
      bad.n.data[bad.n.data.length - 1] = -Infinity;
      return bad;
    case "shape":
      return { x: { data: new Float64Array(B * 3), shape: [B, 3] }, n: good.n };
    case "confounds":
      return { x: good.x, n: { data: good.n.data.subarray(0, B), shape: [B] } };
    case "notABatch":
      return [good.x, good.n];
    case "empty":
      return {
        x: { data: new Float64Array(0), shape: [0, 2] },
        n: { data: new Float64Array(0), shape: [M, 0] },
      };
    case "tiny":
      return {
        x: { data: bad.x.data.map((v, i) => (v + i) * 1e-200), shape: bad.x.shape },
        n: good.n,
      };
    case "huge":
      return {
        x: { data: bad.x.data.map((v, i) => (v + i) * 1e200), shape: bad.x.shape },
        n: good.n,
      };
  }
}

const optionsArbitrary = fc.record({
  tol: fc.constantFrom<number | "auto">(0, 0.2, "auto"),
  abs: fc.boolean(),
  onInvalid: fc.constantFrom<"error" | "skip">("error", "skip"),
  output: fc.constantFrom<"full" | "losses">("full", "losses"),
  view: fc.oneof(
    fc.constant({}),
    fc.integer({ min: 1, max: 3 }).map((window) => ({ window })),
    fc.constantFrom(0.5, 0.9, 1).map((decay) => ({ decay })),
  ),
});

describe("property: correlateBatches()", () => {
  test("valid batches agree with batchCorr (own, running, window); invalid ones are skipped or end the stream at their index", async () => {
    await fc.assert(
      fc.asyncProperty(
        planArbitrary(6),
        fc.array(fc.tuple(fc.nat(), poisonArbitrary), { maxLength: 2 }),
        optionsArbitrary,
        async (plan, poisons, { view, ...rest }) => {
          const good = makeBatches(
            { ...plan, scale: 1, sizes: plan.sizes.map((b) => b + 2) },
            FEATURES,
            M,
          );
          const sequence: unknown[] = [...good];
          const poisonAt = new Set<number>();
          for (const [position, kind] of poisons) {
            // After the first batch, which fixes the feature shape and M (another shape first would be valid).
            const at = 1 + (position % sequence.length);
            sequence.splice(at, 0, poisoned(kind, good[position % good.length]!));
          }
          sequence.forEach((batch, i) => {
            if (!good.includes(batch as DenseBatch)) poisonAt.add(i);
          });
          const options = { ...rest, ...view } as CorrelateBatchesOptions;
          const results: BatchResult[] = [];
          let failure: unknown;
          try {
            for await (const result of correlateBatches(sequence as never, options)) {
              results.push(result);
            }
          } catch (error) {
            failure = error;
          }
          const kept: DenseBatch[] = [];
          for (const result of results) {
            const input = sequence[result.index];
            if (result.skipped) {
              assert.equal(options.onInvalid, "skip");
              assert.ok(
                poisonAt.has(result.index) || (options.tol === "auto"),
                `valid batch ${result.index} skipped: ${result.skipped.reason}`,
              );
              assert.ok(isDocumentedError(result.skipped.error), String(result.skipped.error));
              continue;
            }
            assert.ok(!poisonAt.has(result.index), `poisoned batch ${result.index} accepted`);
            const batch = input as DenseBatch;
            kept.push(batch);
            const whole = concat(kept);
            const own = batchCorr(batch.x, batch.n, {
              tol: options.tol ?? 0,
              abs: options.abs ?? true,
            });
            const running = batchCorr(whole.x, whole.n, {
              tol: options.tol ?? 0,
              abs: options.abs ?? true,
            });
            assert.equal(result.count, whole.x.shape[0]);
            assert.equal(result.tol, own.tol);
            assert.equal(result.running.tol, running.tol);
            assert.ok(Number.isFinite(result.loss) && Number.isFinite(result.running.loss));
            if (options.output !== "losses") {
              assertClose(result.correlations!.data, own.data, 1e-12, "own");
              assertClose(result.running.correlations!.data, running.data, 1e-9, "running");
            }
            if (options.window !== undefined) {
              const last = concat(kept.slice(-options.window));
              const windowed = batchCorr(last.x, last.n, {
                tol: options.tol ?? 0,
                abs: options.abs ?? true,
              });
              assert.equal(result.window!.effectiveCount, last.x.shape[0]);
              if (options.output !== "losses") {
                assertClose(result.window!.correlations!.data, windowed.data, 1e-9, "window");
              }
            }
            if (options.decay !== undefined) {
              assert.ok(
                result.window!.effectiveCount > 0 &&
                  result.window!.effectiveCount <= result.count + 1e-9,
              );
              assert.ok(Number.isFinite(result.window!.loss));
            }
          }
          if (failure !== undefined) {
            assert.ok(failure instanceof BatchCorrError, String(failure));
            assert.equal(failure.code, "stream_batch_failed");
            assert.equal(options.onInvalid, "error");
            assert.equal(failure.details.index, results.length);
            assert.ok(poisonAt.has(results.length) || options.tol === "auto");
            assert.ok(isDocumentedError(failure.cause), String(failure.cause));
          } else {
            assert.equal(results.length, sequence.length);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("random option objects are accepted or refused at once with TypeError/RangeError naming the option", () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.double(),
      fc.integer({ min: -2, max: 5 }),
      fc.string({ maxLength: 4 }),
      fc.boolean(),
      fc.constant({}),
      fc.constantFrom("skip", "error", "losses", "both", "auto"),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            "window",
            "decay",
            "onInvalid",
            "output",
            "gradient",
            "accumulator",
            "backend",
            "tol",
            "maxElements",
            "scalarisation",
            "highWaterMark",
            "__proto__",
            "extra",
          ),
          value,
          { maxKeys: 3 },
        ),
        (options) => {
          try {
            correlateBatches([], options as never);
          } catch (error) {
            assert.ok(
              isDocumentedError(error, /^Cannot correlate batches as options/),
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
