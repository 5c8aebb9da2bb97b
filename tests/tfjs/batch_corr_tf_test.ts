import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { batchCorr, BatchCorrelationLoss, BatchCorrError } from "../../mod.ts";
import { batchCorrTf, type BatchCorrTfOptions } from "../../src/tfjs/mod.ts";
import { mulberry32 } from "../random.ts";
import { BACKENDS, COMPUTES, relativeDifference, useBackend } from "./_backends.ts";

function randomData(seed: number, size: number, offset = 0): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: size }, () => offset + random() * 2 - 1);
}

for (const backend of BACKENDS) {
  for (const compute of COMPUTES) {
    describe(`batchCorrTf on the ${backend} backend, compute "${compute}"`, () => {
      const corrTf = (x: tf.Tensor, n: tf.Tensor, options: BatchCorrTfOptions = {}) =>
        batchCorrTf(x, n, { ...options, compute });
      before(() => useBackend(backend));

      test("a (B, C, T) input gives row t·C + c for feature x[:, c, t], as hypercoil's swapaxes order", () => {
        const B = 40, C = 3, T = 4;
        const xData = randomData(1, B * C * T);
        const nData = randomData(2, B);
        const x = tf.tensor3d(xData, [B, C, T]);
        const n = tf.tensor1d(nData);
        const r = corrTf(x, n, { abs: false });
        assert.deepEqual(r.shape, [C * T, 1]);
        const values = r.dataSync();
        for (let c = 0; c < C; c++) {
          for (let t = 0; t < T; t++) {
            const column = Float64Array.from({ length: B }, (_, b) => xData[(b * C + c) * T + t]!);
            const expected = batchCorr({ data: column, shape: [B, 1] }, nData, { abs: false })
              .data[0]!;
            assert.ok(Math.abs(values[t * C + c]! - expected) < 1e-6, `c ${c} t ${t}`);
          }
        }
        tf.dispose([x, n, r]);
      });

      test("a tensor whose shape getter answers differently on each read is measured once", () => {
        const B = 8;
        const xData = randomData(6, B * 2), nData = randomData(7, B);
        const x = tf.tensor2d(xData, [B, 2]), n = tf.tensor1d(nData);
        let reads = 0;
        // The first read tells the truth; later ones would say [2, 8].
        const lying = new Proxy(x, {
          get(target, key, receiver) {
            if (key === "shape") return reads++ === 0 ? [B, 2] : [2, B];
            return Reflect.get(target, key, receiver);
          },
        });
        const expected = batchCorr({ data: xData, shape: [B, 2] }, nData);
        const values = corrTf(lying, n).dataSync();
        values.forEach((v, i) => assert.ok(Math.abs(v - expected.data[i]!) < 1e-6, `${v} at ${i}`));
        // A shape that disagrees with the tensor's size is refused by name.
        const wrong = new Proxy(x, {
          get: (target, key, receiver) =>
            key === "shape" ? [B, 3] : Reflect.get(target, key, receiver),
        });
        assert.throws(
          () => corrTf(wrong, n),
          (e) =>
            e instanceof TypeError &&
            /x\.shape must be .* whose product is x\.size \(16\)/.test(e.message),
        );
        tf.dispose([x, n]);
      });

      test('tol "auto" with a significance whose level 1 − p/2 rounds to 1 thresholds as the core does, never NaN', () => {
        const B = 12;
        const xData = randomData(4, B * 2), nData = randomData(5, B);
        const x = tf.tensor2d(xData, [B, 2]), n = tf.tensor1d(nData);
        const options = { tol: "auto", tolSig: 1e-16, abs: false } as const;
        const r = corrTf(x, n, options);
        const expected = batchCorr({ data: xData, shape: [B, 2] }, nData, options);
        assert.ok(expected.tol > 0.99 && expected.tol < 1);
        const values = r.dataSync();
        values.forEach((v, i) => assert.ok(Math.abs(v - expected.data[i]!) < 1e-6, `${v} at ${i}`));
        tf.dispose([x, n, r]);
      });

      test("columns far from zero (3e5 + noise) keep their digits in the value and the gradient", () => {
        const B = 256, F = 4;
        // 3e5 + u with u on float32's 1/32 grid there: a float32 mean of the raw values is off by up to 1/64.
        const random = mulberry32(3);
        const nData = Float32Array.from({ length: B }, () => random());
        const xData = new Float32Array(B * F);
        for (let i = 0; i < B * F; i++) {
          xData[i] = 3e5 +
            Math.round((random() + nData[Math.floor(i / F)]! * (i % F) * 0.3) * 32) / 32;
        }
        const x = tf.tensor2d(xData, [B, F]), n = tf.tensor1d(nData);
        const reference = new BatchCorrelationLoss().valueAndGrad(
          { data: xData, shape: [B, F] },
          nData,
        );
        const ours = tf.grad((input: tf.Tensor) => corrTf(input, n).mean() as tf.Scalar)(x);
        const value = tf.tidy(() => corrTf(x, n).mean().dataSync()[0]!);
        assert.ok(
          relativeDifference([value], [reference.value]) < 1e-5,
          `${value} vs ${reference.value}`,
        );
        assert.ok(relativeDifference(ours.dataSync(), reference.grad.data) < 1e-5);
        tf.dispose([x, n, ours]);
      });

      test("the gradient with respect to n matches the core's gradN", () => {
        const B = 64, F = 5, M = 3;
        const xData = randomData(4, B * F), nData = randomData(5, M * B);
        const x = tf.tensor2d(xData, [B, F]), n = tf.tensor2d(nData, [M, B]);
        const grad = tf.grad((confounds: tf.Tensor) =>
          corrTf(x, confounds, { abs: false }).sum() as tf.Scalar
        )(n);
        const core = new BatchCorrelationLoss({ abs: false, scalarisation: "sum" })
          .valueAndGrad({ data: xData, shape: [B, F] }, { data: nData, shape: [M, B] }, {
            wrt: "both",
          });
        assert.deepEqual(grad.shape, [M, B]);
        assert.ok(relativeDifference(grad.dataSync(), core.gradN!.data) < 1e-5);
        tf.dispose([x, n, grad]);
      });

      test("int32 and bool inputs are read as numbers", () => {
        const x = tf.tensor2d([[1, 0], [2, 1], [4, 1], [3, 0]], [4, 2], "int32");
        const n = tf.tensor1d([true, false, true, true], "bool");
        const r = corrTf(x, n, { abs: false });
        const expected = batchCorr([[1, 0], [2, 1], [4, 1], [3, 0]], [1, 0, 1, 1], { abs: false });
        assert.ok(relativeDifference(r.dataSync(), expected.data) < 1e-6);
        tf.dispose([x, n, r]);
      });
    });
  }
}

describe("batchCorrTf input checks", () => {
  before(() => useBackend("cpu"));

  test("a value that is not a tf.Tensor is refused by name", () => {
    const n = tf.tensor1d([1, 2, 3]);
    assert.throws(() => batchCorrTf([[1], [2], [3]] as never, n), {
      name: "TypeError",
      message:
        /^Cannot compute batchCorrTf as x must be a tf.Tensor .*: current value is an array of length 3$/,
    });
    n.dispose();
  });

  test("n given as (B, M) is refused with the transpose suggested", () => {
    const x = tf.zeros([5, 2]), n = tf.zeros([5, 3]);
    assert.throws(() => batchCorrTf(x, n), {
      name: "TypeError",
      message:
        /current shape is \[5, 3\], which looks like \(B, M\); pass its transpose, of shape \[3, 5\]$/,
    });
    tf.dispose([x, n]);
  });

  test("mismatched batches, scalars, empty batches, strings and disposed tensors are refused", () => {
    const x = tf.zeros([4, 2]);
    assert.throws(
      () => batchCorrTf(x, tf.zeros([3])),
      /n must have one value per sample of x \(B = 4\)/,
    );
    assert.throws(() => batchCorrTf(tf.scalar(1), tf.zeros([1])), TypeError);
    assert.throws(() => batchCorrTf(tf.zeros([0, 2]), tf.zeros([0])), RangeError);
    assert.throws(
      () => batchCorrTf(x, tf.zeros([2, 2, 4])),
      /n must be a vector \(B\) or a matrix \(M, B\)/,
    );
    assert.throws(() => batchCorrTf(x, tf.zeros([0, 4])), RangeError);
    assert.throws(
      () => batchCorrTf(tf.tensor(["a", "b"]), tf.zeros([2])),
      /x.dtype must be "float32", "int32" or "bool"/,
    );
    const gone = tf.zeros([4]);
    gone.dispose();
    assert.throws(() => batchCorrTf(x, gone), /n must be a tensor that is not disposed/);
    tf.disposeVariables();
    x.dispose();
  });

  test('tol "auto" needs three samples, and bad options and sizes are refused as the core refuses them', () => {
    const x = tf.zeros([2, 3]), n = tf.zeros([2]);
    assert.throws(() => batchCorrTf(x, n, { tol: "auto" }), {
      name: "RangeError",
      message:
        'Cannot compute batchCorrTf as the batch size for tol "auto" must be at least 3 (B − 2 degrees of freedom for the t quantile): current value is 2',
    });
    assert.throws(() => batchCorrTf(x, n, { tolSig: 0 }), RangeError);
    assert.throws(() => batchCorrTf(x, n, { nu: 1 } as never), /known keys/);
    assert.throws(
      () => batchCorrTf(x, n, { maxElements: 2 }),
      (error: unknown) => error instanceof BatchCorrError && error.code === "resource_limit",
    );
    tf.dispose([x, n]);
  });

  test("a failed call leaves no tensor behind", () => {
    const x = tf.zeros([3, 2]), n = tf.zeros([2, 3]);
    const tensors = tf.memory().numTensors;
    assert.throws(() => batchCorrTf(x, n, { tol: "auto", maxElements: 1 }), BatchCorrError);
    assert.equal(tf.memory().numTensors, tensors);
    tf.dispose([x, n]);
  });
});

describe("batchCorrTf's compute option", () => {
  const B = 30, F = 4, M = 2;
  const xData = randomData(41, B * F, 3);
  const nData = randomData(42, M * B);

  for (const backend of BACKENDS) {
    test(`on the ${backend} backend, "auto" computes on the host: float64 results rounded once to float32`, async () => {
      await useBackend(backend);
      const x = tf.tensor2d(xData, [B, F]), n = tf.tensor2d(nData, [M, B]);
      const core = batchCorr({ data: xData, shape: [B, F] }, { data: nData, shape: [M, B] }, {
        tol: 0.05,
        abs: false,
      });
      for (const compute of ["auto", "host"] as const) {
        const r = batchCorrTf(x, n, { tol: 0.05, abs: false, compute });
        const values = r.dataSync();
        // === rather than deepEqual: a thresholded -0 may come back as +0.
        core.data.forEach((v, i) => assert.ok(values[i] === Math.fround(v), `${compute} [${i}]`));
        r.dispose();
      }
      const ops = batchCorrTf(x, n, { tol: 0.05, abs: false, compute: "tf" });
      assert.ok(relativeDifference(ops.dataSync(), core.data) < 1e-5);
      tf.dispose([x, n, ops]);
    });
  }

  test('beyond 8,192 elements of x "auto" runs the tf ops on wasm and stays on the host on cpu', async () => {
    const big = randomData(43, 100 * 100, 1), confound = randomData(44, 100);
    for (const [backend, same] of [["wasm", "tf"], ["cpu", "host"]] as const) {
      await useBackend(backend);
      const x = tf.tensor2d(big, [100, 100]), n = tf.tensor1d(confound);
      const results = [undefined, same, same === "tf" ? "host" : "tf"] as const;
      const [auto, chosen, other] = results.map((compute) =>
        tf.tidy(() => batchCorrTf(x, n, { abs: false, ...(compute ? { compute } : {}) }).dataSync())
      ) as [Float32Array, Float32Array, Float32Array];
      assert.deepEqual(Array.from(auto), Array.from(chosen), backend);
      assert.ok(auto.some((v, i) => v !== other[i]), `${backend}: the two paths round differently`);
      tf.dispose([x, n]);
    }
  });

  test("on the host, NaN or Infinity in the data gives NaN as the tf ops do, not an error", async () => {
    await useBackend("cpu");
    const bad = Float32Array.from(xData);
    bad[5] = Number.NaN;
    const x = tf.tensor2d(bad, [B, F]), n = tf.tensor2d(nData, [M, B]);
    const tensors = tf.memory().numTensors;
    for (const compute of ["host", "tf"] as const) {
      const r = batchCorrTf(x, n, { compute });
      assert.ok(Array.from(r.dataSync()).some(Number.isNaN), compute);
      r.dispose();
    }
    assert.equal(tf.memory().numTensors, tensors);
    tf.dispose([x, n]);
  });

  test("a compute other than auto, host or tf is refused with the rule and the value", () => {
    const x = tf.tensor2d(xData, [B, F]), n = tf.tensor2d(nData, [M, B]);
    assert.throws(
      () => batchCorrTf(x, n, { compute: "gpu" as "tf" }),
      (e) =>
        e instanceof TypeError &&
        /options\.compute must be "auto", "host" or "tf": current value is "gpu"/.test(e.message),
    );
    tf.dispose([x, n]);
  });
});
