import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { autoTol, batchCorr, BatchCorrError, batchCorrFloat32 } from "../../mod.ts";
import { shiftedPearson } from "../fuzz_support.ts";
import { mulberry32 as random } from "../random.ts";

describe("batchCorrFloat32", () => {
  test("agrees with batchCorr to 1e-5 in hypercoil's feature order for a (B, C, T) tensor", () => {
    const next = random(5);
    const B = 70, C = 6, T = 7, M = 3;
    const x = new Float32Array(B * C * T).map(() => next() * 2 - 1);
    const n = Array.from({ length: M }, () => Array.from({ length: B }, () => next()));
    for (let b = 0; b < B; b++) x[b * C * T + 4] = x[b * C * T + 4]! + 3 * n[1]![b]!; // feature X[:, 0, 4]
    const X = { data: x, shape: [B, C, T] };
    const fast = batchCorrFloat32(X, n, { abs: false, tol: "auto" });
    const exact = batchCorr(X, n, { abs: false, tol: "auto" });
    assert.deepEqual(fast.shape, [C * T, M]);
    assert.equal(fast.tol, autoTol(B));
    for (let i = 0; i < exact.data.length; i++) {
      assert.ok(Math.abs(fast.data[i]! - exact.data[i]!) <= 1e-5);
    }
    // Row t * C + c holds X[:, c, t]: the planted correlation is at row 4 * 6 + 0, confound 1.
    assert.ok(exact.data[(4 * C + 0) * M + 1]! > 0.5);
    assert.ok(Math.abs(fast.data[(4 * C + 0) * M + 1]! - exact.data[(4 * C + 0) * M + 1]!) <= 1e-5);
  });

  test("counts constant features as zero variance and reports their correlation as 0", () => {
    const B = 40, F = 20;
    const next = random(9);
    const x = new Float32Array(B * F).map((_, i) => (i % F === 2 ? 0.1 : next()));
    const result = batchCorrFloat32(
      { data: x, shape: [B, F] },
      Array.from({ length: B }, () => next()),
    );
    assert.equal(result.zeroVarianceFeatures, 1);
    assert.equal(result.data[2], 0);
  });

  test("computes batches beyond float32's range on the exact path, as batchCorr", () => {
    const next = random(21);
    const B = 20, F = 18;
    for (const scale of [1e-25, 1e25, 1e200]) {
      const x = new Float64Array(B * F).map(() => (next() - 0.5) * scale);
      const n = Array.from({ length: B }, (_, b) => x[b * F + 3]! / scale + next() * 0.1);
      const X = { data: x, shape: [B, F] };
      const fast = batchCorrFloat32(X, n, { abs: false });
      const exact = batchCorr(X, n, { abs: false });
      assert.equal(fast.zeroVarianceFeatures, 0);
      for (let i = 0; i < F; i++) {
        assert.ok(Math.abs(fast.data[i]! - exact.data[i]!) <= 1e-12, `scale ${scale}`);
      }
      assert.ok(fast.data[3]! > 0.9);
    }
  });

  test("keeps 1e-6 on columns far from zero (base/spread 1e5 to 1e8, both signs), float64 and float32 input", () => {
    const next = random(33);
    const B = 256, F = 40; // 40 features: two 16-wide strips of the SIMD kernel and a remainder
    const n = Float64Array.from({ length: B }, () => next() - 0.5);
    const bases = [1e5, -1e5, 1e6, -1e6, 1e7, -1e7, 1e8, -1e8];
    for (const spread of [1e-3, 1, 1e3]) {
      const x = new Float64Array(B * F);
      for (let b = 0; b < B; b++) {
        for (let f = 0; f < F; f++) {
          const coupling = (f % 3) - 1;
          x[b * F + f] = bases[f % bases.length]! * spread +
            spread * (next() - 0.5 + coupling * n[b]!);
        }
      }
      for (const data of [x, new Float32Array(x)]) {
        const fast = batchCorrFloat32({ data, shape: [B, F] }, n, { abs: false });
        const reference = shiftedPearson(data, n, B, F, 1);
        for (let f = 0; f < F; f++) {
          assert.ok(
            Math.abs(fast.data[f]! - reference[f]!) <= 1e-6,
            `${data.constructor.name}, spread ${spread}, base ${
              bases[f % bases.length]! * spread
            }: ${fast.data[f]} vs ${reference[f]}`,
          );
        }
      }
    }
  });

  test("throws a RangeError naming the element for NaN, like batchCorr", () => {
    const x = new Float32Array(12).fill(1);
    x[5] = Number.NaN;
    assert.throws(
      () => batchCorrFloat32({ data: x, shape: [4, 3] }, [1, 2, 3, 4]),
      (error: unknown) =>
        error instanceof RangeError && /batchCorrFloat32/.test(error.message) &&
        /\[1, 2\]/.test(error.message),
    );
  });

  test("honours options.maxElements as batchCorr does, both ways", () => {
    const X = { data: new Float32Array(40).map((_, i) => (i * 7) % 11), shape: [4, 10] };
    const N = { data: new Float64Array(8).map((_, i) => (i * 3) % 5), shape: [2, 4] };
    for (const compute of [batchCorr, batchCorrFloat32]) {
      assert.throws(
        () => compute(X, N, { maxElements: 19 }),
        (e) =>
          e instanceof BatchCorrError && e.code === "resource_limit" &&
          /F = 10 × M = 2 = 20/.test(e.message),
      );
      assert.deepEqual(compute(X, N, { maxElements: 20 }).shape, [10, 2]);
    }
  });
});
