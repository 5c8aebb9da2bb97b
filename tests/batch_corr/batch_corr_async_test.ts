import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { POOL_TEST_ELEMENTS, usePoolFromTestSize } from "../_pool_threshold.ts";
import { batchCorr, batchCorrAsync } from "../../mod.ts";
import { splitsAcrossThreads } from "../../src/kernels/compute_moments_parallel.ts";
import { mulberry32 } from "../random.ts";

usePoolFromTestSize();

function bits(values: Float64Array): string[] {
  const view = new DataView(values.buffer, values.byteOffset, values.byteLength);
  return Array.from(
    { length: values.length },
    (_, i) => view.getBigUint64(i * 8, true).toString(16),
  );
}

describe("batchCorrAsync", () => {
  test("a large batch split across threads gives batchCorr's result bit for bit", async () => {
    const B = 48, M = 3, C = 7;
    const T = Math.ceil(POOL_TEST_ELEMENTS / (B * M * C)) + 5;
    const next = mulberry32(9);
    const x = new Float32Array(B * C * T).map(() => next() * 2 - 1);
    const n = new Float64Array(M * B).map(() => next());
    // (B, C, T): hypercoil's feature order permutes the output rows.
    const X = { data: x, shape: [B, C, T] }, N = { data: n, shape: [M, B] };
    assert.ok(splitsAcrossThreads(B, C * T, M, 2));
    for (const options of [{}, { abs: false, tol: 0.05 }, { tol: "auto" as const }]) {
      const expected = batchCorr(X, N, options);
      const actual = await batchCorrAsync(X, N, { ...options, threads: 2 });
      assert.deepEqual(bits(actual.data), bits(expected.data));
      assert.deepEqual(actual.shape, expected.shape);
      assert.equal(actual.tol, expected.tol);
      assert.equal(actual.zeroVarianceFeatures, expected.zeroVarianceFeatures);
    }
  });

  test("a small batch, threads: 1 and threads: 'auto' all agree with batchCorr", async () => {
    const X = [[1, 4, 2], [2, 3, 2], [3, 2, 2], [4, 1, 2]];
    const N = [[1, 2, 3, 5], [0.5, 0.1, 0.3, 0.2]];
    const expected = batchCorr(X, N, { abs: false });
    for (const threads of ["auto", 1, 2] as const) {
      const actual = await batchCorrAsync(X, N, { abs: false, threads });
      assert.deepEqual(bits(actual.data), bits(expected.data), `threads ${threads}`);
      assert.equal(actual.zeroVarianceFeatures, 1);
    }
  });

  test("rejects a threads option that is not 'auto' or a positive integer, naming it", async () => {
    const cases: [unknown, ErrorConstructor][] = [
      [0, RangeError],
      [1.5, RangeError],
      [-2, RangeError],
      ["all", TypeError],
      [null, TypeError],
    ];
    for (const [threads, kind] of cases) {
      await assert.rejects(
        batchCorrAsync([[1], [2], [3]], [1, 2, 3], { threads } as never),
        (error: Error) =>
          error instanceof kind && /options\.threads must be "auto" or a positive integer/.test(
            error.message,
          ),
        `threads ${threads}`,
      );
    }
  });

  test("rejects what batchCorr rejects, with batchCorrAsync's context", async () => {
    await assert.rejects(
      batchCorrAsync([[1, Number.NaN], [2, 3]], [1, 2]),
      (error: Error) =>
        error instanceof RangeError && /Cannot compute batchCorrAsync/.test(error.message),
    );
  });
});
