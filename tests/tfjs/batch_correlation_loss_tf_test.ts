import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { autoTol, batchCorr, BatchCorrelationLoss, max, mean, sum, vnorm } from "../../mod.ts";
import {
  BatchCorrelationLossTf,
  type BatchCorrelationLossTfOptions,
  batchCorrTf,
} from "../../src/tfjs/mod.ts";
import { BACKENDS, COMPUTES, relativeDifference, useBackend } from "./_backends.ts";
import {
  type ParityCase,
  parityCases,
  type ParityFigures,
  runParityCase,
} from "./_parity_cases.ts";

/** An active |r| above this is nearly collinear: float32 loses up to two digits there. */
const COLLINEAR = 0.98;

function maxActiveAbsR(c: ParityCase): number {
  const r =
    batchCorr({ data: c.x, shape: c.xShape }, { data: c.n, shape: c.nShape }, { abs: false }).data;
  const tol = c.tol === "auto" ? autoTol(c.xShape[0]!) : c.tol;
  return Math.max(0, ...Array.from(r, Math.abs).filter((v) => v > tol));
}

const cases = parityCases();
/** The parity sweep and the 1,000 steps take seconds on a loaded machine: beyond Bun's 5 s default. */
const SLOW = { timeout: 120_000 };

for (const backend of BACKENDS) {
  for (const compute of COMPUTES) {
    describe(`BatchCorrelationLossTf on the ${backend} backend, compute "${compute}"`, () => {
      const lossTf = (options: BatchCorrelationLossTfOptions = {}) =>
        new BatchCorrelationLossTf({ ...options, compute });
      before(() => useBackend(backend));
      let memo: { c: ParityCase; f: ParityFigures; collinear: boolean }[] | undefined;
      // Computed once, in the first test that needs it (hooks have short time limits in Bun).
      const allFigures = () =>
        memo ??= cases.map((c) => ({
          c,
          f: runParityCase(c, batchCorrTf, compute),
          collinear: maxActiveAbsR(c) > COLLINEAR,
        }));

      test(
        compute === "host"
          ? "value and gradients match the float64 core within 1e-5 relative for every case"
          : "value and gradients match the float64 core within 1e-5 relative for every case not nearly collinear",
        SLOW,
        () => {
          let compared = 0;
          for (const { c, f, collinear } of allFigures()) {
            // The float32 graph cancels digits there (bounded at 1e-4 below); float64 does not.
            if (collinear && compute === "tf") continue;
            const where =
              `${c.label}, tol ${c.tol}, abs ${c.abs}, X ${c.xShape}, N ${c.nShape}, offset ${c.offset}`;
            assert.ok(f.value <= 1e-5, `value ${f.value} (${where})`);
            assert.ok(f.gradX <= 1e-5, `∂/∂X ${f.gradX} (${where})`);
            assert.ok(f.gradN <= 1e-5, `∂/∂N ${f.gradN} (${where})`);
            assert.ok(f.correlations <= 1e-5, `batchCorrTf ${f.correlations} (${where})`);
            compared++;
          }
          assert.ok(compared >= 150, `${compared} of ${cases.length} cases compared`);
        },
      );

      test(
        "nearly collinear cases (an active |r| above 0.98) still match within 1e-4",
        SLOW,
        () => {
          const collinear = allFigures().filter((entry) => entry.collinear);
          assert.ok(
            collinear.length > 0,
            "the cases include B = 3 with tol auto, where only |r| > 0.988 is active",
          );
          for (const { c, f } of collinear) {
            for (const [name, value] of Object.entries(f)) {
              if (!Number.isNaN(value)) {
                assert.ok(value <= 1e-4, `${name} ${value} (${c.label}, X ${c.xShape})`);
              }
            }
          }
        },
      );

      test("the closed-form gradient matches tf's own autodiff of the plain formula", SLOW, () => {
        let compared = 0;
        for (const { c, f, collinear } of allFigures()) {
          if (collinear || Number.isNaN(f.autodiff)) continue;
          assert.ok(f.autodiff <= 1e-5, `${f.autodiff} (${c.label}, tol ${c.tol}, X ${c.xShape})`);
          compared++;
        }
        assert.ok(compared >= 60, `${compared} cases compared with autodiff`);
      });

      test("the tensors count is the same before and after 1,000 optimizer steps", SLOW, () => {
        const B = 24, F = 3;
        const inputs = tf.tidy(() => tf.randomNormal([B, 5], 0, 1, "float32", 7));
        const confounds = tf.tidy(() => tf.randomNormal([2, B], 0, 1, "float32", 8));
        const weights = tf.variable(tf.randomNormal([5, F], 0, 1, "float32", 9));
        const loss = lossTf({ tol: 0.05, scalarisation: "meansq", nu: 2 });
        const optimizer = tf.train.sgd(0.05);
        const step = () =>
          optimizer.minimize(() => loss.evaluate(inputs.matMul(weights), confounds));
        step(); // the optimizer keeps its learning-rate scalar from here on
        const tensors = tf.memory().numTensors;
        const start = tf.tidy(() =>
          loss.evaluate(inputs.matMul(weights), confounds).dataSync()[0]!
        );
        for (let i = 0; i < 1000; i++) step();
        assert.equal(tf.memory().numTensors, tensors);
        const end = tf.tidy(() => loss.evaluate(inputs.matMul(weights), confounds).dataSync()[0]!);
        assert.ok(end < start, `the loss fell: ${start} -> ${end}`);
        optimizer.dispose();
        tf.dispose([inputs, confounds, weights]);
      });

      test("evaluate, valueAndGrad and a throwing call leave no tensor behind", () => {
        const x = tf.tensor2d([[1, 2], [2, 1], [3, 5], [4, 3]]);
        const n = tf.tensor2d([[1, 0, 1, 1], [0.5, 0.1, 0.4, 0.2]]);
        const tensors = tf.memory().numTensors;
        const loss = lossTf({ scalarisation: "max" });
        tf.dispose(loss.evaluate(x, n));
        const { value, grad, gradN } = loss.valueAndGrad(x, n, { wrt: "both" });
        tf.dispose([value, grad, gradN!]);
        assert.throws(() => loss.evaluate(x, tf.tensor1d([1, 2, 3])), TypeError);
        const bad = lossTf({ scalarisation: () => 3 as unknown as tf.Scalar });
        assert.throws(() => bad.evaluate(x, n), /must be a tf.Scalar/);
        assert.equal(tf.memory().numTensors, tensors + 1); // the tensor1d given to the failing call
        tf.dispose([x, n]);
      });

      test("at the kink |r| = tol exactly (in float32) the closed-form subgradient is 0, for both abs values and both wrt", () => {
        const x = tf.tensor2d([[1], [2], [4], [3], [7], [5]]);
        const n = tf.tensor1d([0.3, 0.1, 0.9, 0.5, 0.7, 0.2]);
        // The kink in the precision the op computes in: float64 on the host, float32 in tf ops.
        const r = compute === "host"
          ? batchCorr(
            { data: x.dataSync() as Float32Array, shape: [6, 1] },
            { data: n.dataSync() as Float32Array, shape: [6] },
            { abs: false },
          ).data[0]!
          : tf.tidy(() => batchCorrTf(x, n, { abs: false, compute }).dataSync()[0]!);
        for (const abs of [true, false]) {
          for (const wrt of ["X", "both"] as const) {
            const loss = lossTf({ abs, tol: Math.abs(r) });
            const { value, grad, gradN } = loss.valueAndGrad(x, n, { wrt });
            assert.equal(value.dataSync()[0], 0);
            assert.ok(grad.dataSync().every((g) => g === 0), `abs ${abs}, wrt ${wrt}`);
            if (gradN) assert.ok(gradN.dataSync().every((g) => g === 0));
            tf.dispose([value, grad, ...(gradN ? [gradN] : [])]);
          }
        }
        tf.dispose([x, n]);
      });

      test("a custom scalarisation returning a string scalar is refused with a TypeError naming its dtype", () => {
        const x = tf.tensor2d([[1, 2], [2, 1], [3, 5], [4, 3]]);
        const n = tf.tensor1d([1, 0, 1, 1]);
        const loss = lossTf({
          scalarisation: () => tf.scalar("0.5") as unknown as tf.Scalar,
        });
        assert.throws(
          () => loss.evaluate(x, n),
          (e) => e instanceof TypeError && /a string tensor of shape \[\]/.test(e.message),
        );
        tf.dispose([x, n]);
      });

      test("a zero-variance feature gives 0 and a finite gradient, and NaN everywhere with zeroVariance nan", () => {
        const xData = [[1, 5], [2, 5], [4, 5], [3, 5], [6, 5]];
        const nData = [0.3, 0.1, 0.9, 0.5, 0.7];
        const x = tf.tensor2d(xData), n = tf.tensor1d(nData);
        const zero = lossTf().valueAndGrad(x, n, { wrt: "both" });
        const core = new BatchCorrelationLoss().valueAndGrad(xData, nData, { wrt: "both" });
        assert.ok(Math.abs(zero.value.dataSync()[0]! - core.value) < 1e-6);
        assert.ok(zero.grad.dataSync().every(Number.isFinite));
        assert.ok(relativeDifference(zero.grad.dataSync(), core.grad.data) < 1e-5);
        assert.deepEqual(Array.from(zero.grad.dataSync()).filter((_, i) => i % 2 === 1), [
          0,
          0,
          0,
          0,
          0,
        ]);
        const nan = lossTf({ zeroVariance: "nan" }).valueAndGrad(x, n, {
          wrt: "both",
        });
        assert.ok(Number.isNaN(nan.value.dataSync()[0]!));
        assert.ok(nan.grad.dataSync().every(Number.isNaN));
        assert.ok(nan.gradN!.dataSync().every(Number.isNaN));
        tf.dispose([x, n, zero.value, zero.grad, zero.gradN!, nan.value, nan.grad, nan.gradN!]);
      });

      test("vnorm's gradient is 0, not NaN, when every correlation is under the tolerance", () => {
        const x = tf.tensor2d([[1, 2], [2, 1], [3, 5], [4, 3], [2, 2]]);
        const n = tf.tensor1d([1, 3, 2, 2, 1]);
        const { value, grad } = lossTf({ scalarisation: "vnorm", tol: 0.99 })
          .valueAndGrad(x, n);
        assert.equal(value.dataSync()[0], 0);
        assert.deepEqual(Array.from(grad.dataSync()), new Array(10).fill(0));
        tf.dispose([x, n, value, grad]);
      });

      test("max shares its gradient among tied maxima, as the core does", () => {
        const xData = [[1, 1, 0.2], [2, 2, 0.9], [4, 4, 0.1], [3, 3, 0.5]];
        const nData = [0.2, 0.5, 0.9, 0.6];
        const x = tf.tensor2d(xData), n = tf.tensor1d(nData);
        const { value, grad } = lossTf({ scalarisation: max }).valueAndGrad(x, n);
        const core = new BatchCorrelationLoss({ scalarisation: "max" }).valueAndGrad(xData, nData);
        assert.ok(Math.abs(value.dataSync()[0]! - core.value) < 1e-6);
        assert.ok(relativeDifference(grad.dataSync(), core.grad.data) < 1e-5);
        tf.dispose([x, n, value, grad]);
      });

      test("a tf function scalarisation is differentiated by tf", () => {
        const x = tf.tensor2d([[1, 0.3], [1.6, 0.1], [1.2, 0.9], [2.1, 0.4], [0.7, 0.2]]);
        const n = tf.tensor1d([0.1, 0.4, 0.2, 0.8, 0.3]);
        function halfSum(v: tf.Tensor2D): tf.Scalar {
          return v.sum().mul(0.5) as tf.Scalar;
        }
        const custom = lossTf({ scalarisation: halfSum });
        const half = custom.valueAndGrad(x, n);
        const full = lossTf({ scalarisation: sum, nu: 0.5 }).valueAndGrad(x, n);
        assert.ok(Math.abs(half.value.dataSync()[0]! - full.value.dataSync()[0]!) < 1e-7);
        assert.ok(relativeDifference(half.grad.dataSync(), full.grad.dataSync()) < 1e-6);
        assert.equal(custom.scalarisation.name, "halfSum");
        tf.dispose([x, n, half.value, half.grad, full.value, full.grad]);
      });
    });
  }
}

describe("BatchCorrelationLossTf options", () => {
  before(() => useBackend("cpu"));

  test("defaults are BatchCorrelationLoss's", () => {
    const loss = new BatchCorrelationLossTf();
    const core = new BatchCorrelationLoss();
    assert.equal(loss.nu, core.nu);
    assert.equal(loss.name, core.name);
    assert.equal(loss.tol, core.options.tol);
    assert.equal(loss.tolSig, core.options.tolSig);
    assert.equal(loss.abs, core.options.abs);
    assert.equal(loss.zeroVariance, core.options.zeroVariance);
    assert.equal(loss.scalarisation.name, "mean");
    assert.equal(new BatchCorrelationLossTf({ scalarisation: mean }).scalarisation.name, "mean");
    assert.equal(
      new BatchCorrelationLossTf({ scalarisation: vnorm(3) }).scalarisation.name,
      "vnorm(3)",
    );
  });

  test("bad options are refused with the core's messages", () => {
    assert.throws(() => new BatchCorrelationLossTf({ tol: -1 }), {
      name: "RangeError",
      message:
        /^Cannot create BatchCorrelationLossTf as options.tol must be a finite non-negative number or "auto": current value is -1$/,
    });
    assert.throws(() => new BatchCorrelationLossTf({ tolSig: 1 }), RangeError);
    assert.throws(() => new BatchCorrelationLossTf({ nu: Number.NaN }), RangeError);
    assert.throws(
      () => new BatchCorrelationLossTf({ abs: "yes" as unknown as boolean }),
      TypeError,
    );
    assert.throws(() => new BatchCorrelationLossTf({ wrt: "X" } as never), /known keys/);
    assert.throws(() => new BatchCorrelationLossTf({ scalarisation: "median" as never }), {
      name: "TypeError",
      message: /options.scalarisation must be "sum", "mean", "meansq", "max", "vnorm"/,
    });
    const handWritten = { name: "mine", reduce: (v: Float64Array) => v[0]! };
    assert.throws(
      () => new BatchCorrelationLossTf({ scalarisation: handWritten }),
      /cannot run in a tf graph/,
    );
  });

  test("valueAndGrad refuses a bad wrt and checks its inputs before tf does", () => {
    const loss = new BatchCorrelationLossTf();
    const x = tf.tensor2d([[1], [2], [3]]), n = tf.tensor1d([1, 3, 2]);
    assert.throws(() => loss.valueAndGrad(x, n, { wrt: "N" as never }), TypeError);
    assert.throws(() => loss.valueAndGrad([[1], [2]] as never, n), {
      name: "TypeError",
      message: /^Cannot compute valueAndGrad of BatchCorrelation as x must be a tf.Tensor/,
    });
    const { value, grad } = loss.valueAndGrad(x, n);
    assert.deepEqual(grad.shape, [3, 1]);
    tf.dispose([x, n, value, grad]);
  });
});
