/**
 * Property: the ONNX Runtime backends' float32 graph keeps SPEC section 6's
 * 1e-4 on columns far from zero, whatever their sign, spread and dtype (the
 * host shifts each column by its first value before the upload).
 */
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { createOnnxBackend, type OnnxBackend } from "../../mod.ts";
import {
  assertClose,
  offsetColumns,
  offsetColumnsArbitrary,
  RUNS,
  SEED,
  shiftedPearson,
} from "../fuzz_support.ts";

const PARITY = 1e-4;

for (const provider of ["cpu", "wasm"] as const) {
  describe(`property: createOnnxBackend({ provider: "${provider}" }) on columns far from zero`, () => {
    let backend: OnnxBackend;
    before(async () => {
      backend = await createOnnxBackend({ provider, abs: false });
    });
    after(async () => {
      await backend.dispose();
    });

    test("raw correlations and moments stay within 1e-4 of a float64 reference, base/spread up to 1e8", async () => {
      await fc.assert(
        fc.asyncProperty(offsetColumnsArbitrary, async (plan) => {
          const c = offsetColumns(plan);
          const X = { data: c.x, shape: [c.B, c.F] }, N = { data: c.n, shape: [c.M, c.B] };
          const result = await backend.run(X, N, { tol: 0 });
          const reference = shiftedPearson(c.x, c.n, c.B, c.F, c.M);
          assertClose(
            result.raw,
            reference,
            PARITY,
            `${provider} raw, ratios ${c.ratios.slice(0, 4)}`,
          );
          assertClose(result.data, reference, PARITY, `${provider} thresholded at tol 0`);
          // The means come back with the shift added in float64, off by the float32 sum of the
          // deviations only (at worst B·2⁻²⁴ of the largest), not by float32's rounding of the base.
          for (let f = 0; f < c.F; f++) {
            let sum = 0, largest = 0;
            for (let b = 0; b < c.B; b++) {
              const deviation = c.x[b * c.F + f]! - c.x[f]!;
              sum += deviation;
              largest = Math.max(largest, Math.abs(deviation));
            }
            const mean = c.x[f]! + sum / c.B;
            const allowed = c.B * 2 ** -24 * largest + 4e-16 * Math.abs(mean);
            assertClose(
              [result.moments.meanX[f]!],
              [mean],
              allowed,
              `${provider} mean of feature ${f}`,
            );
          }
        }),
        { numRuns: Math.min(RUNS, 20_000), seed: SEED },
      );
    });
  });
}
