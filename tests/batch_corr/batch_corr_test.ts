import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { autoTol, batchCorr, qcfc } from "../../mod.ts";
import { mulberry32 } from "../random.ts";

/** Textbook Pearson correlation of two equal-length vectors. */
function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function randomArray(random: () => number, size: number): Float64Array {
  return Float64Array.from({ length: size }, () => random() * 2 - 1);
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    assert.ok(diff <= tolerance, `element ${i}: ${actual[i]} vs ${expected[i]} (diff ${diff})`);
  }
}

describe("batchCorr()", () => {
  test("correlates each column of a (B, F) matrix with each confound row of (M, B)", () => {
    const random = mulberry32(1);
    const B = 37, F = 5, M = 3;
    const x = randomArray(random, B * F);
    const n = randomArray(random, M * B);
    const result = batchCorr({ data: x, shape: [B, F] }, { data: n, shape: [M, B] }, {
      abs: false,
    });
    assert.deepEqual(result.shape, [F, M]);
    const expected: number[] = [];
    for (let f = 0; f < F; f++) {
      const column = Array.from({ length: B }, (_, b) => x[b * F + f]!);
      for (let m = 0; m < M; m++) {
        expected.push(pearson(column, Array.from(n.subarray(m * B, (m + 1) * B))));
      }
    }
    assertClose(result.data, expected, 1e-12);
  });

  test("orders (B, A, C, D) features as row (d·A + a)·C + c = X[:, a, c, d], as hypercoil", () => {
    const random = mulberry32(2);
    const B = 11, A = 2, C = 3, D = 4;
    const x = randomArray(random, B * A * C * D);
    const n = randomArray(random, B);
    const result = batchCorr({ data: x, shape: [B, A, C, D] }, n, { abs: false });
    assert.deepEqual(result.shape, [A * C * D, 1]);
    for (let a = 0; a < A; a++) {
      for (let c = 0; c < C; c++) {
        for (let d = 0; d < D; d++) {
          const column = Array.from({ length: B }, (_, b) => x[((b * A + a) * C + c) * D + d]!);
          const row = (d * A + a) * C + c;
          assert.ok(
            Math.abs(result.data[row]! - pearson(column, Array.from(n))) < 1e-12,
            `row ${row}`,
          );
        }
      }
    }
  });

  test("orders (B, C, T) features as row t·C + c = X[:, c, t]", () => {
    const X = [
      [[1, 10], [5, 2], [0, 3]],
      [[2, 30], [4, 1], [1, 2]],
      [[4, 20], [1, 7], [0, 9]],
      [[3, 50], [2, 3], [5, 1]],
    ];
    const n = [1, 2, 3, 4];
    const result = batchCorr(X, n, { abs: false });
    for (let t = 0; t < 2; t++) {
      for (let c = 0; c < 3; c++) {
        const column = X.map((sample) => sample[c]![t]!);
        assert.ok(Math.abs(result.data[t * 3 + c]! - pearson(column, n)) < 1e-12);
      }
    }
  });

  test("treats a vector X as one feature", () => {
    const result = batchCorr([1, 2, 4, 3], [1, 2, 3, 4]);
    assert.deepEqual(result.shape, [1, 1]);
    assert.ok(Math.abs(result.data[0]! - pearson([1, 2, 4, 3], [1, 2, 3, 4])) < 1e-15);
  });

  test("reads a vector N and a (1, B) matrix N the same way", () => {
    const random = mulberry32(3);
    const X = { data: randomArray(random, 20 * 3), shape: [20, 3] };
    const n = randomArray(random, 20);
    assert.deepEqual(batchCorr(X, n).data, batchCorr(X, { data: n, shape: [1, 20] }).data);
  });

  test("soft-thresholds at tol: max(|r| − tol, 0), signed when abs is false", () => {
    const random = mulberry32(4);
    const B = 30, F = 40;
    const x = randomArray(random, B * F);
    const n = randomArray(random, B);
    const raw = batchCorr({ data: x, shape: [B, F] }, n, { abs: false }).data;
    const tol = 0.15;
    const absolute = batchCorr({ data: x, shape: [B, F] }, n, { tol }).data;
    const signed = batchCorr({ data: x, shape: [B, F] }, n, { tol, abs: false }).data;
    let zeroed = 0;
    for (let f = 0; f < F; f++) {
      const expected = Math.max(Math.abs(raw[f]!) - tol, 0);
      if (expected === 0) zeroed++;
      assert.ok(Math.abs(absolute[f]! - expected) < 1e-15);
      assert.ok(Math.abs(signed[f]! - Math.sign(raw[f]!) * expected) < 1e-15);
    }
    assert.ok(zeroed > 0 && zeroed < F, "the case must exercise both sides of the threshold");
  });

  test('uses autoTol of the batch size for tol "auto" with tolSig', () => {
    const random = mulberry32(5);
    const X = { data: randomArray(random, 25 * 4), shape: [25, 4] };
    const n = randomArray(random, 25);
    const result = batchCorr(X, n, { tol: "auto", tolSig: 0.05 });
    assert.equal(result.tol, autoTol(25, 0.05));
    const raw = batchCorr(X, n).data;
    assertClose(result.data, Array.from(raw, (r) => Math.max(r - result.tol, 0)), 1e-15);
  });

  test("computes float32 input in float64 without losing precision", () => {
    const random = mulberry32(6);
    const x32 = Float32Array.from(randomArray(random, 50 * 6));
    const n = randomArray(random, 50);
    const from32 = batchCorr({ data: x32, shape: [50, 6] }, n, { abs: false });
    const from64 = batchCorr({ data: Float64Array.from(x32), shape: [50, 6] }, n, { abs: false });
    assert.deepEqual(from32.data, from64.data);
  });

  test("accepts number[] data, nested arrays and typed arrays alike", () => {
    const nested = [[1, 2], [2, 1], [3, 5], [4, 4]];
    const flat = { data: [1, 2, 2, 1, 3, 5, 4, 4], shape: [4, 2] };
    const n = [0.5, 0.1, 0.9, 0.3];
    assert.deepEqual(batchCorr(nested, n).data, batchCorr(flat, Float64Array.from(n)).data);
  });

  test("reports zero-variance features and confounds as 0 and counts them", () => {
    const X = [[1, 0.1, 5], [2, 0.1, 3], [3, 0.1, 4]];
    const result = batchCorr(X, [1, 2, 4]);
    assert.equal(result.data[1], 0);
    assert.equal(result.zeroVarianceFeatures, 1);
    assert.equal(result.zeroVarianceConfounds, 0);
    const constantConfound = batchCorr(X, [[1, 2, 4], [7, 7, 7]]);
    assert.equal(constantConfound.zeroVarianceConfounds, 1);
    assert.deepEqual([1, 3, 5].map((i) => constantConfound.data[i]), [0, 0, 0]);
  });

  test('restores hypercoil\'s NaN for zero variance with zeroVariance: "nan"', () => {
    const result = batchCorr([[1, 0.1], [2, 0.1], [3, 0.1]], [1, 2, 4], { zeroVariance: "nan" });
    assert.ok(Number.isNaN(result.data[1]!));
    assert.ok(Number.isFinite(result.data[0]!));
  });

  test("keeps the correlation of 1e9 + noise exact", () => {
    const random = mulberry32(7);
    const B = 200;
    const noise = randomArray(random, B);
    const n = randomArray(random, B);
    const shifted = batchCorr(Float64Array.from(noise, (v) => 1e9 + v), n, { abs: false }).data[0]!;
    assert.ok(Math.abs(shifted - pearson(Array.from(noise), Array.from(n))) < 1e-6);
  });

  test("qcfc() is batchCorr() with the arguments named fc and qc", () => {
    const random = mulberry32(8);
    const fc = { data: randomArray(random, 12 * 6), shape: [12, 2, 3] };
    const qc = randomArray(random, 2 * 12);
    const qcShape = { data: qc, shape: [2, 12] };
    assert.deepEqual(
      qcfc(fc, qcShape, { tol: "auto" }).data,
      batchCorr(fc, qcShape, { tol: "auto" }).data,
    );
    assert.throws(() => qcfc(fc, [1, 2]), {
      name: "TypeError",
      message: /qc must have one value per sample of fc/,
    });
  });
});

describe("batchCorr() rejects bad input", () => {
  const X = { data: new Float64Array([1, 2, 3, 4, 5, 7, 6, 8]), shape: [4, 2] };
  const n = [1, 2, 3, 4];

  test("NaN or Infinity in X, naming the index and value", () => {
    const bad = { data: new Float64Array([1, 2, 3, Number.NaN, 5, 7, 6, 8]), shape: [4, 2] };
    assert.throws(() => batchCorr(bad, n), {
      name: "RangeError",
      message:
        "Cannot compute batchCorr as every element of X must be finite (no NaN or ±Infinity): current value is NaN at index [1, 1]",
    });
    const inf = { data: new Float64Array([1, 2, 3, 4, 5, 7, Infinity, 8]), shape: [4, 2] };
    assert.throws(() => batchCorr(inf, n), {
      name: "RangeError",
      message: /X must be finite.*Infinity at index \[3, 0\]/,
    });
  });

  test("NaN or Infinity in N", () => {
    assert.throws(() => batchCorr(X, [1, 2, -Infinity, 4]), {
      name: "RangeError",
      message: /every element of N must be finite .*current value is -Infinity at index \[2\]/,
    });
    assert.throws(() => batchCorr(X, { data: [1, 2, 3, 4, 1, Number.NaN, 3, 4], shape: [2, 4] }), {
      name: "RangeError",
      message: /N must be finite .*NaN at index \[1, 1\]/,
    });
  });

  test("a batch-size mismatch between X and N", () => {
    assert.throws(() => batchCorr(X, [1, 2, 3]), {
      name: "TypeError",
      message:
        "Cannot compute batchCorr as N must have one value per sample of X (B = 4): current shape is [3]",
    });
    assert.throws(() => batchCorr(X, { data: new Float64Array(10), shape: [2, 5] }), {
      name: "TypeError",
      message:
        /N must be \(M, B\) with the batch size of X \(B = 4\) on its last axis: current shape is \[2, 5\]/,
    });
  });

  test("N given as (B, M), suggesting the transpose", () => {
    assert.throws(() => batchCorr(X, { data: new Float64Array(8), shape: [4, 2] }), {
      name: "TypeError",
      message:
        /current shape is \[4, 2\], which looks like \(B, M\); pass its transpose, of shape \[2, 4\]/,
    });
  });

  test("N of rank other than 1 or 2", () => {
    assert.throws(() => batchCorr(X, { data: new Float64Array(8), shape: [1, 2, 4] }), {
      name: "TypeError",
      message: /N must be a vector \(B\) or a matrix \(M, B\): current shape is \[1, 2, 4\]/,
    });
  });

  test("empty input", () => {
    assert.throws(() => batchCorr({ data: [], shape: [0, 3] }, []), {
      name: "RangeError",
      message:
        "Cannot compute batchCorr as the batch size of X (its first axis) must be at least 1: current value is 0",
    });
    assert.throws(() => batchCorr({ data: [], shape: [4, 0] }, n), {
      name: "RangeError",
      message: /at least one feature/,
    });
    assert.throws(() => batchCorr([], []), { name: "RangeError" });
  });

  test("a negative or non-finite tol", () => {
    assert.throws(() => batchCorr(X, n, { tol: -0.1 }), {
      name: "RangeError",
      message:
        'Cannot compute batchCorr as options.tol must be a finite non-negative number or "auto": current value is -0.1',
    });
    assert.throws(() => batchCorr(X, n, { tol: Number.NaN }), {
      name: "RangeError",
      message: /options\.tol .*NaN/,
    });
    assert.throws(() => batchCorr(X, n, { tol: "automatic" as "auto" }), {
      name: "TypeError",
      message: /options\.tol must be .*current value is "automatic"/,
    });
  });

  test("tolSig outside (0, 1)", () => {
    for (const tolSig of [0, 1, 1.5, -0.2]) {
      assert.throws(() => batchCorr(X, n, { tol: "auto", tolSig }), {
        name: "RangeError",
        message:
          `Cannot compute batchCorr as options.tolSig must be a number in the open interval (0, 1): current value is ${tolSig}`,
      });
    }
  });

  test("a subnormal tolSig (below 2^-1022), naming its own rule", () => {
    for (const tolSig of [5e-324, 1e-310]) {
      assert.throws(() => batchCorr(X, n, { tol: "auto", tolSig }), {
        name: "RangeError",
        message: new RegExp(
          `^Cannot compute batchCorr as options\\.tolSig must be at least 2\\^-1022 .*: current value is ${tolSig}$`,
        ),
      });
    }
  });

  test('tol "auto" with B < 3', () => {
    assert.throws(() => batchCorr([[1], [2]], [1, 2], { tol: "auto" }), {
      name: "RangeError",
      message:
        'Cannot compute batchCorr as the batch size for tol "auto" must be at least 3 (B − 2 degrees of freedom for the t quantile): current value is 2',
    });
  });

  test("non-numeric data", () => {
    assert.throws(() => batchCorr({ data: [1, "2", 3, 4] as unknown as number[], shape: [4] }, n), {
      name: "TypeError",
      message:
        'Cannot compute batchCorr as X.data element 1 must be a number: current value is "2"',
    });
    assert.throws(() => batchCorr([[1], [null], [3], [4]] as unknown as number[][], n), {
      name: "TypeError",
      message: "Cannot compute batchCorr as X[1][0] must be a number: current value is null",
    });
    assert.throws(() => batchCorr("1,2,3" as unknown as number[], n), {
      name: "TypeError",
      message: /X must be a tensor/,
    });
    assert.throws(
      () => batchCorr({ data: new Int32Array(4) as unknown as number[], shape: [4] }, n),
      {
        name: "TypeError",
        message:
          /X\.data must be a Float64Array, a Float32Array or an array of numbers: current value is a Int32Array/,
      },
    );
  });

  test("ragged nested arrays and data that disagrees with its shape", () => {
    assert.throws(() => batchCorr([[1, 2], [3], [4, 5], [6, 7]], n), {
      name: "TypeError",
      message: /rectangular/,
    });
    assert.throws(() => batchCorr({ data: new Float64Array(7), shape: [4, 2] }, n), {
      name: "TypeError",
      message:
        "Cannot compute batchCorr as X.data.length must be the product of X.shape [4, 2] (8): current value is 7",
    });
  });

  test("wrong option types and unknown option keys", () => {
    assert.throws(() => batchCorr(X, n, { abs: "yes" as unknown as boolean }), {
      name: "TypeError",
      message: 'Cannot compute batchCorr as options.abs must be a boolean: current value is "yes"',
    });
    assert.throws(() => batchCorr(X, n, { tolsig: 0.2 } as unknown as object), {
      name: "TypeError",
      message:
        'Cannot compute batchCorr as options must only have the known keys (tol, tolSig, abs, zeroVariance, maxElements): current value has "tolsig"',
    });
    assert.throws(() => batchCorr(X, n, 3 as unknown as object), {
      name: "TypeError",
      message: /options must be an object/,
    });
  });
});
