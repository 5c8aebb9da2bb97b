import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { emptyMoments } from "../../src/core/batch_moments.ts";
import { resultFromMoments, thresholdedFromMoments } from "../../src/core/correlation_view.ts";
import { resultView, thresholdedView } from "../../src/kernels/correlation_view_kernel.ts";
import { wasmView } from "../../src/kernels/_wasm_kernel.ts";
import { mulberry32 } from "../random.ts";

/** Moments with zero-variance features and confounds, |r| near 0, near tol and near 1. */
function moments(F: number, M: number, seed: number) {
  const next = mulberry32(seed);
  const m = emptyMoments(F, M);
  m.count = 50;
  for (let f = 0; f < F; f++) m.m2X[f] = f % 11 === 3 ? 0 : next() * 10;
  for (let j = 0; j < M; j++) m.m2N[j] = j === 1 ? 0 : 0.5 + next();
  for (let i = 0; i < F * M; i++) {
    const f = Math.floor(i / M), j = i % M;
    const r = [0, 1, -1, 0.1, -0.1, next() * 2 - 1][i % 6]!;
    m.comoment[i] = r * Math.sqrt(m.m2X[f]! * m.m2N[j]!);
  }
  return m;
}

function sameValues(a: Float64Array, b: Float64Array): boolean {
  // Bit for bit, NaN payloads aside.
  return a.length === b.length &&
    a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i]!)));
}

describe("the correlation view on the WebAssembly kernel", () => {
  const shapes: [number, number][] = [[1, 1], [2, 1], [257, 1], [300, 2], [101, 3], [64, 8], [
    33,
    5,
  ]];
  for (const [F, M] of shapes) {
    test(`gives thresholdedFromMoments' values bit for bit at F = ${F}, M = ${M}`, () => {
      const m = moments(F, M, F * 10 + M);
      for (const tol of [0, 0.1, 0.75]) {
        for (const abs of [true, false]) {
          for (const zeroVariance of ["zero", "nan"] as const) {
            const expected = thresholdedFromMoments(
              m,
              undefined,
              tol,
              abs,
              zeroVariance,
              new Float64Array(F * M),
            );
            const actual = new Float64Array(F * M);
            const degenerate = zeroVariance === "nan" ? Number.NaN : 0;
            assert.ok(wasmView(m.m2X, m.m2N, m.comoment, tol, abs, degenerate, actual));
            assert.ok(sameValues(actual, expected), `tol ${tol}, abs ${abs}, ${zeroVariance}`);
          }
        }
      }
    });
  }

  test("resultView and thresholdedView agree with the core view, with and without a feature order", () => {
    const F = 6 * 50, M = 2;
    const m = moments(F, M, 5);
    const order = Int32Array.from({ length: F }, (_, f) => (f % 6) * 50 + Math.floor(f / 6));
    const settings = { tol: 0.05, abs: false, zeroVariance: "nan" as const };
    for (const permutation of [undefined, order]) {
      const expected = resultFromMoments(m, permutation, settings);
      const actual = resultView(m, permutation, settings);
      assert.ok(sameValues(actual.data, expected.data));
      assert.deepEqual({ ...actual, data: [] }, { ...expected, data: [] });
      const out = thresholdedView(m, permutation, settings, new Float64Array(F * M));
      assert.ok(sameValues(out, expected.data));
    }
  });
});
