import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrelationLoss, CorrelationAccumulator } from "../../mod.ts";
import { globalValueAndGrad } from "../../src/distributed/mod.ts";
import { concat, maxAbsDiff } from "../fuzz_support.ts";
import { randomBatches } from "./_batches.ts";

describe("globalValueAndGrad", () => {
  const cases = [
    {
      name: "mean, tol 0, 3-D features (hypercoil's feature order)",
      options: {},
      featureShape: [2, 3],
    },
    {
      name: "meansq with tol auto",
      options: { tol: "auto" as const, scalarisation: "meansq" as const },
      featureShape: [4],
    },
    {
      name: "sum, signed, tol 0.1, nu 2",
      options: { tol: 0.1, abs: false, scalarisation: "sum" as const, nu: 2 },
      featureShape: [3, 2],
    },
    { name: "max", options: { scalarisation: "max" as const }, featureShape: [5] },
  ];
  for (const { name, options, featureShape } of cases) {
    test(`slices' gradients stack into valueAndGrad of the whole batch (${name})`, () => {
      const loss = new BatchCorrelationLoss(options);
      const slices = randomBatches({ count: 3, seed: 81, featureShape, confounds: 2 });
      const whole = concat(slices);
      const expected = loss.valueAndGrad(whole.x, whole.n, { wrt: "both" });
      const global = new CorrelationAccumulator();
      for (const slice of slices) {
        global.merge(new CorrelationAccumulator().update(slice.x, slice.n));
      }
      const parts = slices.map((slice) =>
        globalValueAndGrad(loss, slice.x, slice.n, global, { wrt: "both" })
      );
      for (const part of parts) {
        assert.ok(
          Math.abs(part.value - expected.value) <= 1e-12 * Math.max(1, Math.abs(expected.value)),
        );
      }
      assert.ok(
        maxAbsDiff(parts.flatMap((p) => Array.from(p.grad.data)), expected.grad.data) <= 1e-10,
      );
      const B = whole.x.shape[0]!;
      const gradN = new Float64Array(2 * B);
      let offset = 0;
      for (const part of parts) {
        const b = part.grad.shape[0]!;
        for (let m = 0; m < 2; m++) {
          gradN.set(part.gradN!.data.subarray(m * b, m * b + b), m * B + offset);
        }
        offset += b;
      }
      assert.ok(maxAbsDiff(gradN, expected.gradN!.data) <= 1e-10);
      assert.deepEqual(parts[0]!.grad.shape, slices[0]!.x.shape);
    });
  }

  test("a NaN loss (zeroVariance nan with a constant column) gives a NaN gradient, as valueAndGrad", () => {
    const loss = new BatchCorrelationLoss({ zeroVariance: "nan" });
    const x = [[1, 5], [2, 5], [4, 5]], n = [1, 3, 2];
    const global = new CorrelationAccumulator().update(x, n);
    const result = globalValueAndGrad(loss, x, n, global);
    assert.ok(Number.isNaN(result.value) && Array.from(result.grad.data).every(Number.isNaN));
  });

  test("refuses a slice of another shape, an empty global state and a gradient-less scalarisation", () => {
    const global = new CorrelationAccumulator().update([[1, 2], [2, 1], [4, 4]], [1, 3, 2]);
    const loss = new BatchCorrelationLoss();
    assert.throws(() => globalValueAndGrad(loss, [[1], [2]], [1, 2], global), TypeError);
    assert.throws(
      () => globalValueAndGrad(loss, [[1, 2]], [1], new CorrelationAccumulator()),
      RangeError,
    );
    assert.throws(
      () =>
        globalValueAndGrad(
          new BatchCorrelationLoss({ scalarisation: (v) => v[0]! }),
          [[1, 2]],
          [1],
          global,
        ),
      /gradient/,
    );
    assert.throws(() => globalValueAndGrad(loss, [[1, Number.NaN]], [1], global), RangeError);
  });

  test("columns far from zero (1.7e9 + 0.001·noise) centre on the state's double-double means: 1e-9 relative to the shifted data", () => {
    const loss = new BatchCorrelationLoss({ abs: false });
    const slices = randomBatches({ count: 3, seed: 5, featureShape: [3], confounds: 1 });
    const shift = (offset: number, scale: number) =>
      slices.map((s) => ({ x: { ...s.x, data: s.x.data.map((v) => offset + scale * v) }, n: s.n }));
    const far = shift(1.7e9, 0.001);
    // Exact: x − 1.7e9 loses nothing (Sterbenz).
    const near = far.map((s) => ({ x: { ...s.x, data: s.x.data.map((v) => v - 1.7e9) }, n: s.n }));
    const globalOf = (parts: typeof far) => {
      const global = new CorrelationAccumulator();
      for (const part of parts) global.merge(new CorrelationAccumulator().update(part.x, part.n));
      return global;
    };
    const farGlobal = globalOf(far), nearGlobal = globalOf(near);
    for (let i = 0; i < far.length; i++) {
      const got = globalValueAndGrad(loss, far[i]!.x, far[i]!.n, farGlobal, { wrt: "both" });
      const expected = globalValueAndGrad(loss, near[i]!.x, near[i]!.n, nearGlobal, {
        wrt: "both",
      });
      const scale = expected.grad.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(maxAbsDiff(got.grad.data, expected.grad.data) <= 1e-9 * scale);
      const scaleN = expected.gradN!.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(maxAbsDiff(got.gradN!.data, expected.gradN!.data) <= 1e-9 * scaleN);
    }
  });

  test("at the kink |r| = tol exactly the subgradient is 0, for both abs values and both wrt", () => {
    const slices = randomBatches({ count: 2, seed: 13, featureShape: [1], confounds: 1 });
    const global = new CorrelationAccumulator();
    for (const slice of slices) global.merge(new CorrelationAccumulator().update(slice.x, slice.n));
    const r = global.correlations({ abs: false }).data[0]!;
    for (const abs of [true, false]) {
      for (const wrt of ["X", "both"] as const) {
        const loss = new BatchCorrelationLoss({ abs, tol: Math.abs(r) });
        const part = globalValueAndGrad(loss, slices[0]!.x, slices[0]!.n, global, { wrt });
        assert.equal(part.value, 0);
        assert.ok(part.grad.data.every((g) => g === 0), `abs ${abs}, wrt ${wrt}`);
        if (wrt === "both") assert.ok(part.gradN!.data.every((g) => g === 0));
      }
    }
  });
});
