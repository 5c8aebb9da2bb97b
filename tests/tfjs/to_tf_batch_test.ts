import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { batchCorr, BatchCorrelationLoss } from "../../mod.ts";
import { BatchCorrelationLossTf, batchCorrTf, toTfBatch } from "../../src/tfjs/mod.ts";
import { mulberry32 } from "../random.ts";
import { relativeDifference, useBackend } from "./_backends.ts";

describe("toTfBatch", () => {
  before(() => useBackend("cpu"));

  test("timestamps near 1.7e9 with millisecond noise keep their correlation, which a plain float32 conversion loses", () => {
    const B = 200, F = 3;
    const random = mulberry32(12);
    const n = Float64Array.from({ length: B }, () => random());
    const X = new Float64Array(B * F);
    for (let i = 0; i < B * F; i++) {
      X[i] = 1.7e9 + 0.001 * (random() + (i % F) * n[Math.floor(i / F)]!);
    }
    const host = { data: X, shape: [B, F] };
    const reference = batchCorr(host, n, { abs: false });
    const { x, n: nt } = toTfBatch(host, n);
    const shifted = batchCorrTf(x, nt, { abs: false });
    assert.ok(relativeDifference(shifted.dataSync(), reference.data) < 1e-5);
    const raw = tf.tensor2d(Float32Array.from(X), [B, F]);
    const lost = batchCorrTf(raw, nt, { abs: false });
    assert.ok(
      relativeDifference(lost.dataSync(), reference.data) > 0.1,
      "float32 rounds 1.7e9 to a multiple of 128",
    );
    // The reference gradient is the core's on the same columns shifted in float64 (exact here):
    // on the raw 1.7e9 values the core's own x − x̄ loses digits to the rounded mean (7e-5 off).
    const exactShift = X.map((v, i) => v - X[i % F]!);
    const core = new BatchCorrelationLoss().valueAndGrad({ data: exactShift, shape: [B, F] }, n);
    const ours = new BatchCorrelationLossTf().valueAndGrad(x, nt);
    assert.ok(
      relativeDifference(ours.grad.dataSync(), core.grad.data) < 1e-5,
      "the shift leaves the gradient unchanged",
    );
    tf.dispose([x, nt, shifted, raw, lost, ours.value, ours.grad]);
  });

  test("the tensors keep X's and N's shapes and hold each column minus its first value", () => {
    const { x, n } = toTfBatch({ data: [10, 20, 11, 22, 13, 21], shape: [3, 2, 1] }, [[5, 6, 8], [
      1,
      1,
      1,
    ]]);
    assert.deepEqual(x.shape, [3, 2, 1]);
    assert.deepEqual(n.shape, [2, 3]);
    assert.deepEqual(Array.from(x.dataSync()), [0, 0, 1, 2, 3, 1]);
    assert.deepEqual(Array.from(n.dataSync()), [0, 1, 3, 0, 0, 0]);
    assert.equal(x.dtype, "float32");
    tf.dispose([x, n]);
  });

  test("NaN is refused with its index, and a column float32 cannot carry is refused by name", () => {
    assert.throws(() => toTfBatch([[1, 2], [Number.NaN, 3], [2, 2]], [1, 2, 3]), {
      name: "RangeError",
      message:
        /^Cannot convert a batch with toTfBatch as every element of X must be finite .*: current value is NaN at index \[1, 0\]$/,
    });
    assert.throws(() => toTfBatch([[1, 0], [2, 1e-300], [3, 0]], [1, 2, 3]), {
      name: "RangeError",
      message:
        /feature 1 of X \(X\[:, 1\]\) must deviate from its first value by at most 1125899906842624 and at least 8\.881784197001252e-16 .*current largest deviation is 1e-300/,
    });
    assert.throws(
      () => toTfBatch([[1], [2], [3]], [[0, 1e20, 3e20]]),
      /confound 0 of N \(N\[0, :\]\)/,
    );
    assert.throws(() => toTfBatch([[1], [2]], [1, 2, 3]), TypeError);
    assert.throws(() => toTfBatch([[1], [2]], [1, 2], { maxElements: 0 }), RangeError);
  });

  test("a constant column is kept as zeros (zero variance), not refused", () => {
    const { x, n } = toTfBatch([[1e12, 1], [1e12, 2], [1e12, 4]], [3, 1, 2]);
    assert.deepEqual(Array.from(x.dataSync()), [0, 0, 0, 1, 0, 3]);
    const r = batchCorrTf(x, n);
    assert.equal(r.dataSync()[0], 0);
    tf.dispose([x, n, r]);
  });
});
