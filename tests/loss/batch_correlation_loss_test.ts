import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { batchCorr, BatchCorrelationLoss, max, QCFCLoss, vnorm } from "../../mod.ts";
import { mulberry32 } from "../random.ts";

const random = mulberry32(11);
const B = 24, F = 7, M = 2;
const X = { data: Float64Array.from({ length: B * F }, () => random()), shape: [B, F] };
const N = { data: Float64Array.from({ length: M * B }, () => random()), shape: [M, B] };

describe("BatchCorrelationLoss", () => {
  test("has hypercoil's defaults: nu 1, tol 0, tolSig 0.1, abs true, mean, name BatchCorrelation", () => {
    const loss = new BatchCorrelationLoss();
    assert.equal(loss.nu, 1);
    assert.equal(loss.name, "BatchCorrelation");
    assert.equal(loss.options.tol, 0);
    assert.equal(loss.options.tolSig, 0.1);
    assert.equal(loss.options.abs, true);
    assert.equal(loss.options.scalarisation.name, "mean");
    const r = batchCorr(X, N).data;
    assert.ok(Math.abs(loss.evaluate(X, N) - r.reduce((s, v) => s + v, 0) / r.length) < 1e-15);
  });

  test("evaluates nu · scalarisation(batchCorr(X, N, { tol, tolSig, abs })) for every scalarisation", () => {
    const thresholded = Array.from(batchCorr(X, N, { tol: "auto", tolSig: 0.3, abs: false }).data);
    const expectations: Array<[string | object, number]> = [
      ["sum", thresholded.reduce((s, v) => s + v, 0)],
      ["mean", thresholded.reduce((s, v) => s + v, 0) / thresholded.length],
      ["meansq", thresholded.reduce((s, v) => s + v * v, 0) / thresholded.length],
      ["max", Math.max(...thresholded)],
      ["vnorm", Math.hypot(...thresholded)],
      [vnorm(1), thresholded.reduce((s, v) => s + Math.abs(v), 0)],
      [max, Math.max(...thresholded)],
    ];
    for (const [scalarisation, expected] of expectations) {
      const loss = new BatchCorrelationLoss({
        nu: 2.5,
        tol: "auto",
        tolSig: 0.3,
        abs: false,
        scalarisation: scalarisation as "sum",
      });
      const value = loss.evaluate(X, N);
      assert.ok(
        Math.abs(value - 2.5 * expected) <= 1e-12 * Math.max(1, Math.abs(expected)),
        `${String(scalarisation)}`,
      );
    }
  });

  test("accepts a user function as scalarisation", () => {
    const loss = new BatchCorrelationLoss({ scalarisation: (v) => v.length, name: "count" });
    assert.equal(loss.evaluate(X, N), F * M);
    assert.equal(loss.name, "count");
  });

  test("a user scalarisation's result must be a finite number: a string, undefined, an object or a BigInt is a TypeError, NaN or Infinity a RangeError", () => {
    const cases: [unknown, ErrorConstructor][] = [
      ["0.5", TypeError],
      [undefined, TypeError],
      [{}, TypeError],
      [10n, TypeError],
      [null, TypeError],
      [Number.NaN, RangeError],
      [-Infinity, RangeError],
    ];
    for (const [result, kind] of cases) {
      const loss = new BatchCorrelationLoss({ scalarisation: () => result as number });
      assert.throws(
        () => loss.evaluate(X, N),
        (e) =>
          e instanceof kind &&
          /^Cannot apply the scalarisation "[^"]+" as its result must be a finite number/.test(
            e.message,
          ),
        String(result),
      );
    }
    // A Scalarisation object is held to the same rule, in evaluate and in valueAndGrad.
    const object = { name: "bad", reduce: () => "1" as unknown as number, gradient() {} };
    const loss = new BatchCorrelationLoss({ scalarisation: object });
    assert.throws(() => loss.evaluate(X, N), /scalarisation "bad" as its result/);
    assert.throws(() => loss.valueAndGrad(X, N), /scalarisation "bad" as its result/);
  });

  test("a result that is a hostile object (a revoked Proxy, a throwing getter) is a TypeError naming it, never the object's own error", () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const results = [
      revocable.proxy,
      {
        get constructor() {
          throw new Error("getter");
        },
      },
      new Proxy({}, {
        get() {
          throw new Error("trap");
        },
      }),
    ];
    for (const result of results) {
      const loss = new BatchCorrelationLoss({
        scalarisation: { name: "hostile", reduce: () => result as number },
      });
      assert.throws(() => loss.evaluate(X, N), {
        name: "TypeError",
        message:
          'Cannot apply the scalarisation "hostile" as its result must be a finite number (NaN only with zeroVariance: "nan"): current value is an object',
      });
    }
  });

  test('a Scalarisation whose name is empty or not a string is named "custom" in messages, as an anonymous function is', () => {
    for (const name of ["", 5]) {
      const loss = new BatchCorrelationLoss({
        scalarisation: { name: name as string, reduce: () => "1" as unknown as number },
      });
      assert.throws(
        () => loss.evaluate(X, N),
        /^TypeError: Cannot apply the scalarisation "custom" as/,
      );
    }
  });

  test('NaN is a valid result only where zeroVariance is "nan"', () => {
    const nan = () => Number.NaN;
    assert.throws(
      () => new BatchCorrelationLoss({ scalarisation: nan }).evaluate(X, N),
      RangeError,
    );
    const value = new BatchCorrelationLoss({ scalarisation: nan, zeroVariance: "nan" }).evaluate(
      X,
      N,
    );
    assert.ok(Number.isNaN(value));
  });

  test("a user scalarisation works on a copy: sorting in place changes neither the correlations nor its gradient's input", () => {
    const seen: Float64Array[] = [];
    const median = {
      name: "median",
      reduce(values: Float64Array): number {
        seen.push(values);
        values.sort();
        return values[values.length >> 1]!;
      },
      gradient(values: Float64Array, out: Float64Array): void {
        values.sort();
        out.fill(1 / values.length);
      },
    };
    const loss = new BatchCorrelationLoss({ scalarisation: median, abs: false });
    const { value, grad } = loss.valueAndGrad(X, N);
    const mean = new BatchCorrelationLoss({ abs: false }).valueAndGrad(X, N);
    const r = batchCorr(X, N, { abs: false }).data;
    const sorted = Float64Array.from(r).sort();
    assert.equal(value, sorted[sorted.length >> 1]);
    // A constant weight 1/(F·M) is the mean's gradient: the sort reached no array the library reads.
    grad.data.forEach((g, i) => assert.equal(g, mean.grad.data[i]));
    assert.ok(seen.every((values) => !r.every((v, i) => v === values[i])));
  });

  test("a gradient that is not finite everywhere is refused", () => {
    const loss = new BatchCorrelationLoss({
      scalarisation: {
        name: "holey",
        reduce: (values) => values[0]!,
        gradient: (_values, out) => out.fill(Number.NaN),
      },
    });
    assert.throws(
      () => loss.valueAndGrad(X, N),
      (e) =>
        e instanceof RangeError &&
        /every element of its gradient must be a finite number/.test(e.message),
    );
  });

  test("valueAndGrad's result is the same whatever Object.prototype holds under gradN or scaleX", () => {
    const loss = new BatchCorrelationLoss({ scalarisation: "meansq" });
    const expected = loss.valueAndGrad(X, N);
    const proto = Object.prototype as Record<string, unknown>;
    for (const key of ["gradN", "scaleX"]) {
      proto[key] = new Float64Array(B * F).fill(1e6);
      try {
        const result = loss.valueAndGrad(X, N);
        assert.equal(Object.hasOwn(result, "gradN"), false, key);
        assert.deepEqual(result, expected, key);
      } finally {
        delete proto[key];
      }
    }
  });

  test("rejects bad options when constructed", () => {
    assert.throws(() => new BatchCorrelationLoss({ nu: Number.POSITIVE_INFINITY }), {
      name: "RangeError",
      message:
        "Cannot create BatchCorrelationLoss as options.nu must be a finite number: current value is Infinity",
    });
    assert.throws(() => new BatchCorrelationLoss({ scalarisation: "median" as "mean" }), {
      name: "TypeError",
      message:
        /options\.scalarisation must be "sum", "mean", "meansq", "max", "vnorm", .*current value is "median"/,
    });
    assert.throws(() => new BatchCorrelationLoss({ tol: -1 }), {
      name: "RangeError",
      message: /options\.tol/,
    });
    assert.throws(() => new BatchCorrelationLoss({ tolSig: 0 }), {
      name: "RangeError",
      message: /options\.tolSig/,
    });
    assert.throws(() => new BatchCorrelationLoss({ name: 3 as unknown as string }), {
      name: "TypeError",
      message: /options\.name must be a string/,
    });
  });

  test("names the loss in errors on bad batches", () => {
    const loss = new BatchCorrelationLoss({ tol: "auto" });
    assert.throws(() => loss.evaluate([[1], [2]], [1, 2]), {
      name: "RangeError",
      message:
        /^Cannot evaluate BatchCorrelation as the batch size for tol "auto" must be at least 3/,
    });
  });
});

describe("QCFCLoss", () => {
  test("is the same loss named QCFC with arguments fc and qc", () => {
    const qcfcLoss = new QCFCLoss({ tol: 0.05, scalarisation: "meansq" });
    const batchLoss = new BatchCorrelationLoss({ tol: 0.05, scalarisation: "meansq" });
    assert.equal(qcfcLoss.name, "QCFC");
    assert.equal(qcfcLoss.evaluate(X, N), batchLoss.evaluate(X, N));
    assert.throws(() => qcfcLoss.evaluate(X, [1, 2, 3]), {
      name: "TypeError",
      message: /qc must have one value per sample of fc/,
    });
  });
});
